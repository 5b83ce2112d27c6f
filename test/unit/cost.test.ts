import { describe, expect, it } from 'vitest';
import { billingOf, costOf, DEFAULT_PRICES, FREE_PRICE, priceUsage, usageByModel, usageByRole, withLocalModels, type PriceTable } from '../../src/core/cost.js';
import type { ModelCall } from '../../src/core/types.js';
import { modelCall } from './builders.js';

const usage = (input_tokens: number, cached_tokens: number, output_tokens: number) => ({ input_tokens, cached_tokens, output_tokens });
const plannerCall = (u: ModelCall['usage'], extra: Partial<ModelCall> = {}) => modelCall({ role: 'planner', model: 'gpt-5.4', usage: u, ...extra });
const executorCall = (u: ModelCall['usage'], extra: Partial<ModelCall> = {}) =>
  modelCall({ role: 'executor', purpose: 'execute', model: 'gpt-5.4-mini', usage: u, ...extra });

describe('DEFAULT_PRICES', () => {
  it('DEFAULT_PRICES holds the product price table for gpt-5.4 and gpt-5.4-mini', async () => {
    expect(DEFAULT_PRICES).toEqual({
      'gpt-5.4': { input: 2.5, cached: 0.25, output: 15, quota: 1 },
      'gpt-5.4-mini': { input: 0.75, cached: 0.075, output: 4.5, quota: 0.3 },
    });
  });
});

describe('usageByRole', () => {
  it('usageByRole sums the tokens of every call that billed any, counts completed, failed and abandoned calls apart, and the estimated ones', async () => {
    const calls = [
      plannerCall(usage(10_000, 2_000, 1_000)),
      plannerCall(usage(5_000, 4_000, 300), { purpose: 'review' }),
      // Billed though it gave no answer (incomplete, say): its tokens count.
      plannerCall(usage(999, 999, 999), { status: 'failed', error: 'incomplete: cut' }),
      // Refused before reaching the model: nothing billed.
      plannerCall(null, { status: 'failed', error: 'rate_limit: 429' }),
      executorCall(usage(4_000, 1_000, 500)),
      executorCall(usage(1_200, 0, 0), { status: 'abandoned', usageEstimated: true }),
      executorCall(null, { status: 'abandoned' }),
      executorCall(null, { status: 'pending', endedAt: null, reservedTokens: 9_999 }),
    ];
    expect(usageByRole(calls)).toEqual({
      planner: { calls: 2, input_tokens: 15_999, cached_tokens: 6_999, output_tokens: 2_299, failed_calls: 2, abandoned_calls: 0, estimated_calls: 0 },
      executor: { calls: 1, input_tokens: 5_200, cached_tokens: 1_000, output_tokens: 500, failed_calls: 0, abandoned_calls: 2, estimated_calls: 1 },
    });
  });

  it('usageByRole counts a completed call without usage as a call with no tokens', async () => {
    expect(usageByRole([executorCall(null)]).executor).toEqual({
      calls: 1,
      input_tokens: 0,
      cached_tokens: 0,
      output_tokens: 0,
      failed_calls: 0,
      abandoned_calls: 0,
      estimated_calls: 0,
    });
  });

  it('usageByRole of no calls is zero for both roles', async () => {
    const zero = { calls: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0, failed_calls: 0, abandoned_calls: 0, estimated_calls: 0 };
    expect(usageByRole([])).toEqual({ planner: zero, executor: zero });
  });
});

describe('priceUsage', () => {
  it('priceUsage prices uncached input, cached input and output per million tokens', async () => {
    // (8,000 x 2.50 + 2,000 x 0.25 + 1,000 x 15) / 1M = (20,000 + 500 + 15,000) / 1M
    expect(priceUsage(usage(10_000, 2_000, 1_000), DEFAULT_PRICES['gpt-5.4']!)).toBeCloseTo(0.0355, 12);
    // (3,000 x 0.75 + 1,000 x 0.075 + 500 x 4.5) / 1M = (2,250 + 75 + 2,250) / 1M
    expect(priceUsage(usage(4_000, 1_000, 500), DEFAULT_PRICES['gpt-5.4-mini']!)).toBeCloseTo(0.004575, 12);
  });

  it('priceUsage never charges a negative uncached amount when cached exceeds input', async () => {
    // uncached clamps to 0: 500 cached x 0.25 = 125 -> 0.000125
    expect(priceUsage(usage(100, 500, 0), DEFAULT_PRICES['gpt-5.4']!)).toBeCloseTo(0.000125, 12);
  });

  it('priceUsage of no tokens is 0', async () => {
    expect(priceUsage(usage(0, 0, 0), DEFAULT_PRICES['gpt-5.4']!)).toBe(0);
  });
});

describe('costOf', () => {
  // One planner call and three executor calls, priced by hand:
  //   planner  10,000 in (2,000 cached), 1,000 out on gpt-5.4:   8,000x2.5 + 2,000x0.25 + 1,000x15   = 35,500 -> $0.0355
  //   exec e1   4,000 in (1,000 cached),   500 out on mini:      3,000x0.75 + 1,000x0.075 + 500x4.5  =  4,575 -> $0.004575
  //             baseline on gpt-5.4:                              3,000x2.5 + 1,000x0.25 + 500x15     = 15,250 -> $0.01525
  //   exec e2   2,000 in (0 cached),     1,000 out on mini:      2,000x0.75 + 1,000x4.5              =  6,000 -> $0.006
  //             baseline:                                         2,000x2.5 + 1,000x15                = 20,000 -> $0.02
  //   exec e3   6,000 in (4,000 cached),   200 out on mini:      2,000x0.75 + 4,000x0.075 + 200x4.5  =  2,700 -> $0.0027
  //             baseline:                                         2,000x2.5 + 4,000x0.25 + 200x15     =  9,000 -> $0.009
  //   usd      = 0.0355 + 0.004575 + 0.006 + 0.0027 = 0.048775
  //   baseline = 0.0355 + 0.01525  + 0.02  + 0.009  = 0.07975
  //   usd savings = (1 - 0.048775 / 0.07975) x 100 = 38.84...% -> 38.8
  //   quota    = 1 + 3 x 0.3 = 1.9; baseline 4 x 1.0 = 4; savings (1 - 1.9/4) x 100 = 52.5
  const calls = [
    plannerCall(usage(10_000, 2_000, 1_000)),
    executorCall(usage(4_000, 1_000, 500)),
    executorCall(usage(2_000, 0, 1_000)),
    executorCall(usage(6_000, 4_000, 200)),
  ];

  it('costOf prices each completed call on its own model and the baseline as planner-model calls', async () => {
    expect(costOf(calls, DEFAULT_PRICES, 'gpt-5.4')).toEqual({
      quota_units: 1.9,
      baseline_quota_units: 4,
      savings_pct: 52.5,
      usd: 0.048775,
      baseline_usd: 0.07975,
      usd_savings_pct: 38.8,
      unpriced_models: [],
      subscription_calls: 0,
    });
  });

  it('costOf prices failed and abandoned calls that billed tokens, and leaves out pending ones and those that billed nothing', async () => {
    const noisy = [
      ...calls,
      // failed planner call: 50,000x2.5 + 50,000x15 = 875,000 -> $0.875; 1 unit
      plannerCall(usage(50_000, 0, 50_000), { status: 'failed' }),
      // abandoned executor call: 50,000x0.75 + 50,000x4.5 = 262,500 -> $0.2625; 0.3 units (baseline $0.875, 1 unit)
      executorCall(usage(50_000, 0, 50_000), { status: 'abandoned', usageEstimated: true }),
      plannerCall(null, { status: 'failed' }),
      executorCall(null, { status: 'pending', endedAt: null }),
    ];
    // usd 0.048775 + 0.875 + 0.2625 = 1.186275 of 0.07975 + 0.875 + 0.875 = 1.82975 -> 35.2% saved
    // quota 1.9 + 1 + 0.3 = 3.2 of 4 + 1 + 1 = 6 -> 46.7% saved
    expect(costOf(noisy, DEFAULT_PRICES, 'gpt-5.4')).toEqual({
      quota_units: 3.2,
      baseline_quota_units: 6,
      savings_pct: 46.7,
      usd: 1.186275,
      baseline_usd: 1.82975,
      usd_savings_pct: 35.2,
      unpriced_models: [],
      subscription_calls: 0,
    });
  });

  it('costOf of planner-model calls only saves nothing', async () => {
    expect(costOf([plannerCall(usage(10_000, 2_000, 1_000))], DEFAULT_PRICES, 'gpt-5.4')).toEqual({
      quota_units: 1,
      baseline_quota_units: 1,
      savings_pct: 0,
      usd: 0.0355,
      baseline_usd: 0.0355,
      usd_savings_pct: 0,
      unpriced_models: [],
      subscription_calls: 0,
    });
  });

  it('costOf of no calls is zero with no savings figure', async () => {
    expect(costOf([], DEFAULT_PRICES, 'gpt-5.4')).toEqual({
      quota_units: 0,
      baseline_quota_units: 0,
      savings_pct: null,
      usd: 0,
      baseline_usd: 0,
      usd_savings_pct: null,
      unpriced_models: [],
      subscription_calls: 0,
    });
  });

  it('costOf keeps every figure it can when a call ran on a model without a price: quota and usd of the priced calls, the full baseline, savings over the priced calls, and the model named', async () => {
    const withUnknown = [...calls, executorCall(usage(1_000, 0, 100), { model: 'mystery-model' })];
    // Baseline adds the unknown call as a gpt-5.4 call: 1,000x2.5 + 100x15 = 4,000 -> $0.004
    expect(costOf(withUnknown, DEFAULT_PRICES, 'gpt-5.4')).toEqual({
      quota_units: 1.9,
      baseline_quota_units: 5,
      savings_pct: 52.5,
      usd: 0.048775,
      baseline_usd: 0.08375,
      usd_savings_pct: 38.8,
      unpriced_models: ['mystery-model'],
      subscription_calls: 0,
    });
  });

  it('costOf gives null quota and usd only when no billed call is priced', async () => {
    const cost = costOf([executorCall(usage(1_000, 0, 100), { model: 'mystery-model' })], DEFAULT_PRICES, 'gpt-5.4');
    expect(cost).toMatchObject({ quota_units: null, usd: null, savings_pct: null, baseline_quota_units: 1, unpriced_models: ['mystery-model'] });
  });

  it('costOf gives a null baseline when the planner model has no price', async () => {
    expect(costOf(calls, DEFAULT_PRICES, 'unpriced-planner')).toEqual({
      quota_units: 1.9,
      baseline_quota_units: null,
      savings_pct: null,
      usd: 0.048775,
      baseline_usd: null,
      usd_savings_pct: null,
      unpriced_models: [],
      subscription_calls: 0,
    });
  });

  it('costOf uses the quota units configured per model', async () => {
    const prices: PriceTable = { big: { input: 10, cached: 1, output: 40, quota: 2 }, small: { input: 1, cached: 0.1, output: 4, quota: 0.5 } };
    const mixed = [
      plannerCall(usage(1_000_000, 0, 0), { model: 'big' }),
      executorCall(usage(1_000_000, 0, 0), { model: 'small' }),
      executorCall(usage(0, 0, 1_000_000), { model: 'small' }),
    ];
    // quota 2 + 0.5 + 0.5 = 3 of 6; usd 10 + 1 + 4 = 15 of 10 + 10 + 40 = 60
    expect(costOf(mixed, prices, 'big')).toEqual({
      quota_units: 3,
      baseline_quota_units: 6,
      savings_pct: 50,
      usd: 15,
      baseline_usd: 60,
      usd_savings_pct: 75,
      unpriced_models: [],
      subscription_calls: 0,
    });
  });
});

describe('cost per provider', () => {
  // Prices as in the costOf block above:
  //   planner  10,000 in (2,000 cached), 1,000 out: gpt-5.4 $0.0355
  //   executor  4,000 in (1,000 cached),   500 out: mini $0.004575, as gpt-5.4 $0.01525
  const planner = (extra: Partial<ModelCall> = {}) => plannerCall(usage(10_000, 2_000, 1_000), extra);
  const executor = (extra: Partial<ModelCall> = {}) => executorCall(usage(4_000, 1_000, 500), extra);

  it('billingOf puts codex calls on a subscription and every other provider per token', async () => {
    expect(billingOf('codex')).toBe('subscription');
    expect(billingOf('responses')).toBe('tokens');
    expect(billingOf('chat')).toBe('tokens');
  });

  it('counts codex calls in quota units but not in USD, and says how many there were', async () => {
    // Planner on responses, executor on codex: usd is the planner call alone; its USD baseline is itself.
    const cost = costOf([planner(), executor({ provider: 'codex' }), executor({ provider: 'codex' })], DEFAULT_PRICES, 'gpt-5.4', 'responses');
    expect(cost).toEqual({
      quota_units: 1.6,
      baseline_quota_units: 3,
      savings_pct: 46.7,
      usd: 0.0355,
      // The planner alone on the Responses API: all three calls as gpt-5.4 calls, 0.0355 + 2 x 0.01525.
      baseline_usd: 0.066,
      usd_savings_pct: 0,
      unpriced_models: [],
      subscription_calls: 2,
    });
  });

  it('gives no USD at all when every call went to a subscription, and a codex planner a baseline in quota units only', async () => {
    const cost = costOf([planner({ provider: 'codex' }), executor({ provider: 'codex' })], DEFAULT_PRICES, 'gpt-5.4', 'codex');
    expect(cost).toEqual({
      quota_units: 1.3,
      baseline_quota_units: 2,
      savings_pct: 35,
      usd: null,
      baseline_usd: null,
      usd_savings_pct: null,
      unpriced_models: [],
      subscription_calls: 2,
    });
  });

  it('prices per-token calls of a codex planner\'s workflow in USD without a USD baseline', async () => {
    const cost = costOf([planner({ provider: 'codex' }), executor({ provider: 'chat' })], DEFAULT_PRICES, 'gpt-5.4', 'codex');
    expect(cost).toMatchObject({ quota_units: 1.3, usd: 0.004575, baseline_usd: null, usd_savings_pct: null, savings_pct: 35, subscription_calls: 1 });
  });

  it('leaves a codex call on a model without a price out of quota units as well, and names the model', async () => {
    const cost = costOf([planner(), executor({ provider: 'codex', model: 'gpt-5.3-codex' })], DEFAULT_PRICES, 'gpt-5.4');
    expect(cost).toMatchObject({ quota_units: 1, usd: 0.0355, subscription_calls: 0, unpriced_models: ['gpt-5.3-codex'] });
  });

  it('prices a local chat model added by withLocalModels at $0 and 0 quota units against the full planner baseline', async () => {
    const prices = withLocalModels(DEFAULT_PRICES, [
      { model: 'gpt-5.4', provider: 'responses', local: false },
      { model: 'qwen2.5-coder:7b', provider: 'chat', local: true },
    ]);
    const cost = costOf([planner(), executor({ provider: 'chat', model: 'qwen2.5-coder:7b' })], prices, 'gpt-5.4');
    // usd 0.0355 of 0.0355 + 0.01525 = 0.05075 -> 30.0% saved; quota 1 of 2 -> 50% saved
    expect(cost).toEqual({
      quota_units: 1,
      baseline_quota_units: 2,
      savings_pct: 50,
      usd: 0.0355,
      baseline_usd: 0.05075,
      usd_savings_pct: 30,
      unpriced_models: [],
      subscription_calls: 0,
    });
  });
});

describe('withLocalModels', () => {
  it('adds the model of a role on a local chat server at $0 and 0 quota units when the table has no price for it', async () => {
    const prices = withLocalModels(DEFAULT_PRICES, [{ model: 'llama3.1:8b', provider: 'chat', local: true }]);
    expect(prices['llama3.1:8b']).toEqual(FREE_PRICE);
    expect(FREE_PRICE).toEqual({ input: 0, cached: 0, output: 0, quota: 0 });
    expect(prices['gpt-5.4']).toEqual(DEFAULT_PRICES['gpt-5.4']);
  });

  it('keeps a price the table has: a local proxy in front of a paid API is priced as the API', async () => {
    const prices = withLocalModels(DEFAULT_PRICES, [{ model: 'gpt-5.4-mini', provider: 'chat', local: true }]);
    expect(prices['gpt-5.4-mini']).toEqual({ input: 0.75, cached: 0.075, output: 4.5, quota: 0.3 });
  });

  it('adds nothing for a chat server that is not local, for other providers, or for a model another role runs where it is billed', async () => {
    expect(withLocalModels(DEFAULT_PRICES, [{ model: 'meta-llama/llama-3.1-8b-instruct', provider: 'chat', local: false }])).toBe(DEFAULT_PRICES);
    expect(withLocalModels(DEFAULT_PRICES, [{ model: 'local-model', provider: 'responses', local: true }])).toBe(DEFAULT_PRICES);
    const shared = withLocalModels(DEFAULT_PRICES, [
      { model: 'same-name', provider: 'chat', local: true },
      { model: 'same-name', provider: 'chat', local: false },
    ]);
    expect(shared['same-name']).toBeUndefined();
  });
});

describe('usageByModel', () => {
  it('groups calls by role, provider and model, planner groups first, counting completed calls and every billed token', async () => {
    const calls = [
      executorCall(usage(4_000, 1_000, 500), { provider: 'chat', model: 'qwen' }),
      plannerCall(usage(10_000, 2_000, 1_000), { provider: 'codex' }),
      executorCall(usage(1_000, 0, 100), { provider: 'chat', model: 'qwen', status: 'failed' }),
      executorCall(null, { provider: 'chat', model: 'qwen', status: 'pending', endedAt: null }),
      executorCall(usage(2_000, 0, 200), { provider: 'responses' }),
      plannerCall(usage(5_000, 4_000, 300), { provider: 'codex', purpose: 'review' }),
    ];
    expect(usageByModel(calls)).toEqual([
      { role: 'planner', provider: 'codex', model: 'gpt-5.4', calls: 2, input_tokens: 15_000, cached_tokens: 6_000, output_tokens: 1_300 },
      { role: 'executor', provider: 'chat', model: 'qwen', calls: 1, input_tokens: 5_000, cached_tokens: 1_000, output_tokens: 600 },
      { role: 'executor', provider: 'responses', model: 'gpt-5.4-mini', calls: 1, input_tokens: 2_000, cached_tokens: 0, output_tokens: 200 },
    ]);
  });
});

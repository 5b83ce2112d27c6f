import { describe, expect, it } from 'vitest';
import { costOf, DEFAULT_PRICES, priceUsage, usageByRole, type PriceTable } from '../../src/core/cost.js';
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

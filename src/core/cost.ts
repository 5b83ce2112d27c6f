// The savings ledger: usage per role from the call journal, priced per model and against the
// planner-only baseline (the same calls and tokens, priced as planner-model calls).
import type { ModelCall, Role, Usage } from './types.js';

export interface ModelPrice {
  /** USD per 1M uncached input tokens. */
  input: number;
  /** USD per 1M cached input tokens. */
  cached: number;
  /** USD per 1M output tokens. */
  output: number;
  /** Quota units one call uses (planner model = 1.0). */
  quota: number;
}
export type PriceTable = Readonly<Record<string, ModelPrice>>;

export const DEFAULT_PRICES: PriceTable = {
  'gpt-5.4': { input: 2.5, cached: 0.25, output: 15, quota: 1 },
  'gpt-5.4-mini': { input: 0.75, cached: 0.075, output: 4.5, quota: 0.3 },
};

export interface RoleUsage extends Usage {
  /** Completed calls. */
  calls: number;
  failed_calls: number;
  abandoned_calls: number;
  /** Calls whose tokens are planexec's estimate: the provider billed them but reported no usage. */
  estimated_calls: number;
}

export interface Cost {
  /** Quota units of the billed calls on priced models (null only when none of them is priced). */
  quota_units: number | null;
  /** The same billed calls priced as planner-model calls (null when the planner model is not priced). */
  baseline_quota_units: number | null;
  /** 1 - quota / baseline over the priced calls, in %. */
  savings_pct: number | null;
  usd: number | null;
  baseline_usd: number | null;
  usd_savings_pct: number | null;
  /** Models of billed calls missing from the price table: their calls are left out of quota_units and usd. */
  unpriced_models: string[];
}

function emptyUsage(): RoleUsage {
  return { calls: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0, failed_calls: 0, abandoned_calls: 0, estimated_calls: 0 };
}

/**
 * Calls and tokens per role. Tokens sum every call that billed any: completed calls, and failed or
 * abandoned ones the provider may have charged (as reported, or estimated: estimated_calls). `calls`
 * counts the completed ones.
 */
export function usageByRole(calls: readonly ModelCall[]): Record<Role, RoleUsage> {
  const out: Record<Role, RoleUsage> = { planner: emptyUsage(), executor: emptyUsage() };
  for (const c of calls) {
    const u = out[c.role];
    if (c.status === 'completed') u.calls += 1;
    else if (c.status === 'failed') u.failed_calls += 1;
    else if (c.status === 'abandoned') u.abandoned_calls += 1;
    if (!c.usage || c.status === 'pending') continue;
    if (c.usageEstimated) u.estimated_calls += 1;
    u.input_tokens += c.usage.input_tokens;
    u.cached_tokens += c.usage.cached_tokens;
    u.output_tokens += c.usage.output_tokens;
  }
  return out;
}

export function priceUsage(usage: Usage, price: ModelPrice): number {
  const uncached = Math.max(0, usage.input_tokens - usage.cached_tokens);
  return (uncached * price.input + usage.cached_tokens * price.cached + usage.output_tokens * price.output) / 1_000_000;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const savings = (actual: number | null, baseline: number | null) =>
  actual === null || baseline === null || baseline === 0 ? null : round((1 - actual / baseline) * 100, 1);

/**
 * Cost of the billed calls (every call with usage: completed, and failed or abandoned ones the
 * provider may have charged), and what the same calls would have cost on the planner model alone.
 * Calls on a model missing from the price table are left out of quota and USD (named in
 * unpriced_models); the savings compare the priced calls with their own baseline, so every figure
 * that can be computed is.
 */
export function costOf(calls: readonly ModelCall[], prices: PriceTable, plannerModel: string): Cost {
  const baselinePrice = prices[plannerModel];
  let quota = 0;
  let usd = 0;
  let priced = 0;
  let baselineQuota = 0;
  let baselineUsd = 0;
  let baselineOfPricedQuota = 0;
  let baselineOfPricedUsd = 0;
  const unpriced = new Set<string>();
  for (const c of calls) {
    if (c.status === 'pending' || !c.usage) continue;
    const price = prices[c.model];
    const asPlannerQuota = baselinePrice?.quota ?? 0;
    const asPlannerUsd = baselinePrice ? priceUsage(c.usage, baselinePrice) : 0;
    baselineQuota += asPlannerQuota;
    baselineUsd += asPlannerUsd;
    if (!price) {
      unpriced.add(c.model);
      continue;
    }
    priced += 1;
    quota += price.quota;
    usd += priceUsage(c.usage, price);
    baselineOfPricedQuota += asPlannerQuota;
    baselineOfPricedUsd += asPlannerUsd;
  }
  const anyPriced = priced > 0 || unpriced.size === 0;
  const hasBaseline = baselinePrice !== undefined;
  return {
    quota_units: anyPriced ? round(quota, 2) : null,
    baseline_quota_units: hasBaseline ? round(baselineQuota, 2) : null,
    savings_pct: anyPriced && hasBaseline ? savings(quota, baselineOfPricedQuota) : null,
    usd: anyPriced ? round(usd, 8) : null,
    baseline_usd: hasBaseline ? round(baselineUsd, 8) : null,
    usd_savings_pct: anyPriced && hasBaseline ? savings(usd, baselineOfPricedUsd) : null,
    unpriced_models: [...unpriced].sort(),
  };
}

/** The configured models missing from the price table (warned about at start-up and in workflow_status). */
export function unpricedModels(models: Readonly<Record<Role, string>>, prices: PriceTable): string[] {
  return [...new Set([models.planner, models.executor])].filter((m) => !prices[m]);
}

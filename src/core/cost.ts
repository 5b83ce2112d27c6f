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
  calls: number;
  failed_calls: number;
  abandoned_calls: number;
}

export interface Cost {
  quota_units: number | null;
  baseline_quota_units: number | null;
  savings_pct: number | null;
  usd: number | null;
  baseline_usd: number | null;
  usd_savings_pct: number | null;
}

function emptyUsage(): RoleUsage {
  return { calls: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0, failed_calls: 0, abandoned_calls: 0 };
}

/** Calls and tokens per role. `calls` and the token sums count completed calls: only they report usage. */
export function usageByRole(calls: readonly ModelCall[]): Record<Role, RoleUsage> {
  const out: Record<Role, RoleUsage> = { planner: emptyUsage(), executor: emptyUsage() };
  for (const c of calls) {
    const u = out[c.role];
    if (c.status === 'failed') u.failed_calls += 1;
    else if (c.status === 'abandoned') u.abandoned_calls += 1;
    if (c.status !== 'completed' || !c.usage) continue;
    u.calls += 1;
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

/** Cost of the completed calls, and what the same calls would have cost on the planner model alone. */
export function costOf(calls: readonly ModelCall[], prices: PriceTable, plannerModel: string): Cost {
  const baselinePrice = prices[plannerModel];
  let quota: number | null = 0;
  let usd: number | null = 0;
  let baselineQuota: number | null = 0;
  let baselineUsd: number | null = 0;
  for (const c of calls) {
    if (c.status !== 'completed' || !c.usage) continue;
    const price = prices[c.model];
    quota = price && quota !== null ? quota + price.quota : null;
    usd = price && usd !== null ? usd + priceUsage(c.usage, price) : null;
    baselineQuota = baselinePrice && baselineQuota !== null ? baselineQuota + baselinePrice.quota : null;
    baselineUsd = baselinePrice && baselineUsd !== null ? baselineUsd + priceUsage(c.usage, baselinePrice) : null;
  }
  return {
    quota_units: quota === null ? null : round(quota, 2),
    baseline_quota_units: baselineQuota === null ? null : round(baselineQuota, 2),
    savings_pct: savings(quota, baselineQuota),
    usd: usd === null ? null : round(usd, 8),
    baseline_usd: baselineUsd === null ? null : round(baselineUsd, 8),
    usd_savings_pct: savings(usd, baselineUsd),
  };
}

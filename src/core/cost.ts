// The savings ledger: usage per role from the call journal, priced per model and per provider, and
// against the planner-only baseline (the same calls and tokens, as planner-model calls on the
// planner's provider).
//
// The rule per provider (issue 9; the README's "How cost and savings are computed" says the same):
// - responses, chat: billed per token. USD and quota units come from the price table entry of the
//   call's model. A model missing from the table is unpriced: left out of quota units and USD, named
//   in unpriced_models and warned about, never guessed. The exception is a chat model served on the
//   user's own machine or network (a loopback or private base URL: Ollama, LM Studio, vLLM): when it
//   is not in the table it costs $0 and 0 quota units (withLocalModels, applied by the composition
//   root, which alone knows the endpoints).
// - codex: billed to the ChatGPT subscription behind the Codex CLI, not per token: its calls count
//   quota units (the price table's quota of their model, the article's unit) and no USD
//   (subscription_calls counts them; usd is null when every priced call is one).
// - Baseline: every billed call as a call of the planner model on the planner's provider: its quota
//   units always (when the planner model is priced), its USD only when that provider bills per token
//   (a codex planner gives a baseline in quota units only).
import type { ModelCall, Role, Usage } from './types.js';

/** What one model costs: USD per 1M tokens by kind, and quota units per call (the rule at the top of this file). */
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
/** Prices by model name (CoreSettings.prices: DEFAULT_PRICES and the config file's `prices`, which win; local chat models added free by withLocalModels). */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * The default models' prices, as PRODUCT.md fixes them: OpenAI's list prices per 1M tokens (gpt-5.4 $2.50
 * input / $0.25 cached / $15.00 output; gpt-5.4-mini $0.75 / $0.075 / $4.50) and the article's quota ratio
 * (a planner-model call 1.0, an executor-model call 0.3). A changed list price goes in the config file's `prices`.
 */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-5.4': { input: 2.5, cached: 0.25, output: 15, quota: 1 },
  'gpt-5.4-mini': { input: 0.75, cached: 0.075, output: 4.5, quota: 0.3 },
};

/** One role's calls and tokens in a workflow (workflow_status `usage`; counted by usageByRole). */
export interface RoleUsage extends Usage {
  /** Completed calls. */
  calls: number;
  failed_calls: number;
  abandoned_calls: number;
  /** Calls whose tokens are planexec's estimate: the provider billed them but reported no usage. */
  estimated_calls: number;
}

/**
 * What a workflow's calls (or the ledger's) cost, and what the same calls would have cost on the planner
 * model alone (costOf; workflow_status `cost`). Null: the figure cannot be computed (nothing priced).
 */
export interface Cost {
  /** Quota units of the billed calls on priced models (null only when none of them is priced). */
  quota_units: number | null;
  /** The same billed calls priced as planner-model calls (null when the planner model is not priced). */
  baseline_quota_units: number | null;
  /** 1 - quota / baseline over the priced calls, in %. */
  savings_pct: number | null;
  /** USD of the calls billed per token on priced models (codex calls are not in it); null when calls were billed but none that way. */
  usd: number | null;
  /** The same billed calls priced as planner-model calls, USD (null when the planner model is unpriced or on a subscription). */
  baseline_usd: number | null;
  /** 1 - usd / baseline over the calls billed in USD, in %. */
  usd_savings_pct: number | null;
  /** Models of billed calls missing from the price table: their calls are left out of quota_units and usd. */
  unpriced_models: string[];
  /** Priced calls billed to a subscription (codex): in quota_units, not in usd. */
  subscription_calls: number;
}

/** How a provider charges for a call: per token (USD and quota units), or to a subscription (quota units only). */
export type Billing = 'tokens' | 'subscription';

/** The provider kind whose calls go to a subscription: the Codex CLI on a ChatGPT sign-in. */
const SUBSCRIPTION_PROVIDERS: readonly string[] = ['codex'];

/** How calls of `provider` (a kind: responses, chat, codex) are billed; see the rule at the top of this file. */
export function billingOf(provider: string): Billing {
  return SUBSCRIPTION_PROVIDERS.includes(provider) ? 'subscription' : 'tokens';
}

/** A model served at no charge: $0 and 0 quota units. */
export const FREE_PRICE: ModelPrice = { input: 0, cached: 0, output: 0, quota: 0 };

/** One role's model and where it is served, for withLocalModels. */
export interface RoleEndpoint {
  model: string;
  /** The provider kind (responses, chat, codex). */
  provider: string;
  /** The base URL is on this machine or a private network (loopback, 10/8, 172.16/12, 192.168/16, fc00::/7, ...). */
  local: boolean;
}

/**
 * `prices` with the models of roles served by a local Chat Completions server (provider chat, `local`)
 * added at FREE_PRICE, when the table has no entry for them and no other role runs the same model name
 * somewhere that bills (then the name is ambiguous, and stays unpriced). A price in the table always
 * wins: a local proxy in front of a paid API (LiteLLM) is priced as the API. Pure; returns `prices`
 * itself when nothing is added.
 */
export function withLocalModels(prices: PriceTable, roles: readonly RoleEndpoint[]): PriceTable {
  const free = roles.filter((r) => r.provider === 'chat' && r.local && !prices[r.model]).map((r) => r.model);
  const billed = new Set(roles.filter((r) => !(r.provider === 'chat' && r.local)).map((r) => r.model));
  const added = [...new Set(free)].filter((m) => !billed.has(m));
  if (!added.length) return prices;
  return { ...prices, ...Object.fromEntries(added.map((m) => [m, { ...FREE_PRICE }])) };
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

/**
 * USD of `usage` at `price`: uncached input (input - cached) at the input rate, cached input at the cached
 * rate, output at the output rate, all per 1M tokens. Unrounded.
 */
export function priceUsage(usage: Usage, price: ModelPrice): number {
  const uncached = Math.max(0, usage.input_tokens - usage.cached_tokens);
  return (uncached * price.input + usage.cached_tokens * price.cached + usage.output_tokens * price.output) / 1_000_000;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const savings = (actual: number | null, baseline: number | null) =>
  actual === null || baseline === null || baseline === 0 ? null : round((1 - actual / baseline) * 100, 1);

/**
 * Calls of one model on one provider, summed: the unit costOfGroups prices. The store's ledger
 * (CallJournal.ledger) answers these from SQL aggregates; callGroups makes them from journal rows.
 * Tokens are summed over the billed calls (not pending, with usage), as usageByRole counts them.
 */
export interface CallGroup {
  provider: string;
  model: string;
  /** Completed calls. */
  calls: number;
  /** Calls that billed tokens (every call with usage that is not pending): each uses its model's quota once. */
  billed_calls: number;
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
  /** Sum over the billed calls of max(0, input - cached): the input priced at the uncached rate. */
  uncached_tokens: number;
}

/** The journal's rows grouped by (provider, model), in the order each group was first used. */
export function callGroups(calls: readonly ModelCall[]): CallGroup[] {
  const groups = new Map<string, CallGroup>();
  for (const c of calls) {
    const key = JSON.stringify([c.provider, c.model]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { provider: c.provider, model: c.model, calls: 0, billed_calls: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0, uncached_tokens: 0 }));
    if (c.status === 'completed') g.calls += 1;
    if (c.status === 'pending' || !c.usage) continue;
    g.billed_calls += 1;
    g.input_tokens += c.usage.input_tokens;
    g.cached_tokens += c.usage.cached_tokens;
    g.output_tokens += c.usage.output_tokens;
    g.uncached_tokens += Math.max(0, c.usage.input_tokens - c.usage.cached_tokens);
  }
  return [...groups.values()];
}

/** USD of a group's billed tokens at `price` (as priceUsage, call by call). */
function priceGroup(g: CallGroup, price: ModelPrice): number {
  return (g.uncached_tokens * price.input + g.cached_tokens * price.cached + g.output_tokens * price.output) / 1_000_000;
}

/**
 * Cost of the billed calls (every call with usage: completed, and failed or abandoned ones the
 * provider may have charged), and what the same calls would have cost as calls of `plannerModel` on
 * `plannerProvider` (the planner's provider kind; default responses). Per the rule at the top of this
 * file: calls on a model missing from the price table are left out of quota and USD (named in
 * unpriced_models); calls of a subscription provider (codex) count quota units but no USD. The
 * savings compare each figure's calls with their own baseline (quota: the priced calls; USD: the
 * calls billed in USD), so every figure that can be computed is. Quota units round to 2 decimals,
 * USD to 8, percentages to 1.
 */
export function costOf(calls: readonly ModelCall[], prices: PriceTable, plannerModel: string, plannerProvider = 'responses'): Cost {
  return costOfGroups(callGroups(calls), prices, plannerModel, plannerProvider);
}

/** costOf over calls already grouped by (provider, model): the same figures, by the same rules. */
export function costOfGroups(groups: readonly CallGroup[], prices: PriceTable, plannerModel: string, plannerProvider = 'responses'): Cost {
  const baselinePrice = prices[plannerModel];
  const baselineInUsd = baselinePrice !== undefined && billingOf(plannerProvider) === 'tokens';
  let quota = 0;
  let usd = 0;
  let priced = 0;
  let inUsd = 0;
  let subscription = 0;
  let billedCalls = 0;
  let baselineQuota = 0;
  let baselineUsd = 0;
  let baselineOfPricedQuota = 0;
  let baselineOfUsd = 0;
  const unpriced = new Set<string>();
  for (const g of groups) {
    if (g.billed_calls === 0) continue;
    const n = g.billed_calls;
    billedCalls += n;
    const price = prices[g.model];
    const asPlannerQuota = (baselinePrice?.quota ?? 0) * n;
    const asPlannerUsd = baselineInUsd ? priceGroup(g, baselinePrice) : 0;
    baselineQuota += asPlannerQuota;
    baselineUsd += asPlannerUsd;
    if (!price) {
      unpriced.add(g.model);
      continue;
    }
    priced += n;
    quota += price.quota * n;
    baselineOfPricedQuota += asPlannerQuota;
    if (billingOf(g.provider) === 'subscription') {
      subscription += n;
      continue;
    }
    inUsd += n;
    usd += priceGroup(g, price);
    baselineOfUsd += asPlannerUsd;
  }
  const hasQuota = priced > 0 || billedCalls === 0;
  const hasUsd = inUsd > 0 || billedCalls === 0;
  const hasBaseline = baselinePrice !== undefined;
  return {
    quota_units: hasQuota ? round(quota, 2) : null,
    baseline_quota_units: hasBaseline ? round(baselineQuota, 2) : null,
    savings_pct: hasQuota && hasBaseline ? savings(quota, baselineOfPricedQuota) : null,
    usd: hasUsd ? round(usd, 8) : null,
    baseline_usd: baselineInUsd ? round(baselineUsd, 8) : null,
    usd_savings_pct: hasUsd && baselineInUsd ? savings(usd, baselineOfUsd) : null,
    unpriced_models: [...unpriced].sort(),
    subscription_calls: subscription,
  };
}

/** Calls and tokens of one model on one provider for one role (workflow_status's calls_by_model). */
export interface ModelUsage {
  provider: string;
  model: string;
  role: Role;
  /** Completed calls. */
  calls: number;
  /** Tokens of every call that billed any (as usageByRole counts them). */
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
}

/**
 * The journal grouped by (role, provider, model): where every call went. Planner groups first, then
 * in the order each group was first used. Counts as usageByRole does.
 */
export function usageByModel(calls: readonly ModelCall[]): ModelUsage[] {
  const groups = new Map<string, ModelUsage>();
  for (const c of calls) {
    const key = JSON.stringify([c.role, c.provider, c.model]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { provider: c.provider, model: c.model, role: c.role, calls: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0 }));
    if (c.status === 'completed') g.calls += 1;
    if (!c.usage || c.status === 'pending') continue;
    g.input_tokens += c.usage.input_tokens;
    g.cached_tokens += c.usage.cached_tokens;
    g.output_tokens += c.usage.output_tokens;
  }
  const all = [...groups.values()];
  return [...all.filter((g) => g.role === 'planner'), ...all.filter((g) => g.role !== 'planner')];
}

/** The configured models missing from the price table (warned about at start-up and in workflow_status). */
export function unpricedModels(models: Readonly<Record<Role, string>>, prices: PriceTable): string[] {
  return [...new Set([models.planner, models.executor])].filter((m) => !prices[m]);
}

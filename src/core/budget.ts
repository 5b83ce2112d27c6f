// Token budgets per workflow and role, checked before every model call from an estimate of its
// input (o200k tokens of what is sent, plus the planner thread it continues) and the answer's cap.
import type { CoreDeps } from './deps.js';
import { PlanexecError } from './errors.js';
import type { ModelRequest, Store } from './ports.js';
import type { ModelCall, Role, TokenBudget } from './types.js';

/** Tokens reserved for the answer when no max_output_tokens is configured for the role. */
export const DEFAULT_OUTPUT_RESERVE = 4_096;

/** The role's budget in tokens (input + output), or undefined when it has none. */
export function limitOf(budget: TokenBudget, role: Role): number | undefined {
  return role === 'planner' ? budget.planner_tokens : budget.executor_tokens;
}

/**
 * What a role's budget has used: the input and output tokens of every call that billed any (completed,
 * and failed or abandoned ones the provider may have charged, as reported or estimated), plus the
 * reservations of its calls still in flight (so concurrent calls cannot all fit in the same room).
 */
export function tokensUsed(calls: readonly ModelCall[], role: Role): number {
  let used = 0;
  for (const c of calls) {
    if (c.role !== role) continue;
    if (c.status === 'pending') used += c.reservedTokens ?? 0;
    else if (c.usage) used += c.usage.input_tokens + c.usage.output_tokens;
  }
  return used;
}

/** Size of a planner thread up to `responseId`: the input and output of the call that produced it. */
export function threadTokens(calls: readonly ModelCall[], responseId: string | null | undefined): number {
  if (!responseId) return 0;
  const head = calls.find((c) => c.responseId === responseId);
  return head?.usage ? head.usage.input_tokens + head.usage.output_tokens : 0;
}

/**
 * Estimated input tokens of a request (o200k). A request that continues a provider-side thread
 * carries the thread (whose last input already held the instructions and a schema, which are
 * replaced, not repeated) plus its own input; otherwise instructions, schema, the history sent with
 * it and its input.
 */
export function estimateInput(d: CoreDeps, req: ModelRequest, calls: readonly ModelCall[]): number {
  const thread = threadTokens(calls, req.previousResponseId);
  if (thread > 0) return thread + d.tokens.count(req.input);
  const format = req.format ? d.tokens.count(JSON.stringify(req.format.schema)) : 0;
  let history = 0;
  for (const t of req.history ?? []) history += d.tokens.count(t.input) + d.tokens.count(t.output);
  return d.tokens.count(req.instructions) + format + history + d.tokens.count(req.input);
}

/**
 * The tokens a call may take from its role's budget (estimated input plus the answer's cap), or
 * null when the role has no budget. Loads no tokenizer without a limit.
 */
export async function reservationFor(d: CoreDeps, workflowId: string, budget: TokenBudget, req: ModelRequest): Promise<number | null> {
  if (limitOf(budget, req.role) === undefined) return null;
  return estimateInput(d, req, await d.store.calls.list(workflowId)) + (req.maxOutputTokens ?? DEFAULT_OUTPUT_RESERVE);
}

/**
 * Throws budget_exceeded unless `need` more tokens fit next to what the role has used and reserved.
 * Run it in the transaction that journals the call, so the check and the reservation are one step.
 */
export async function checkBudget(d: CoreDeps, store: Store, workflowId: string, budget: TokenBudget, role: Role, need: number): Promise<void> {
  const limit = limitOf(budget, role);
  if (limit === undefined) return;
  const used = tokensUsed(await store.calls.list(workflowId), role);
  if (used + need <= limit) return;
  const key = role === 'planner' ? 'planner_tokens' : 'executor_tokens';
  const env = role === 'planner' ? 'PLANEXEC_PLANNER_TOKEN_BUDGET' : 'PLANEXEC_EXECUTOR_TOKEN_BUDGET';
  const suggested = Math.ceil((used + need) * 1.5);
  const n = (x: number) => x.toLocaleString('en-US');
  // A plan call for a new request comes before its workflow is stored: the hint must not name it.
  const stored = (await store.workflows.get(workflowId)) !== null;
  const raise = stored
    ? `Raise it with run_workflow ${JSON.stringify({ workflow_id: workflowId, budget: { [key]: suggested } })} (which also resumes the workflow)`
    : `Nothing was stored; call again with a larger budget, e.g. "budget": ${JSON.stringify({ [key]: suggested })}`;
  throw new PlanexecError(
    'budget_exceeded',
    `The ${role} token budget ${stored ? `of workflow ${workflowId}` : 'of this request'} would be exceeded: ${n(used)} of ${n(limit)} tokens used or reserved, and this call needs about ${n(need)} (its input estimate plus the answer's cap).`,
    `${raise}; ${env} sets the default for new workflows. Nothing was sent.`,
    { role, used, limit, needed: need },
  );
}

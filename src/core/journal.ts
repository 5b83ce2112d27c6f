// Model calls with their journal rows: a row is written before the request is sent and completed
// (or failed) after, so every figure in the ledger comes from the provider's reported usage.
import type { z } from 'zod';
import type { CoreDeps } from './deps.js';
import { modelOutputInvalid, PlanexecError } from './errors.js';
import type { ModelRequest, ModelResponse, Store } from './ports.js';
import { PLANNER_INSTRUCTIONS, renderRepairInput } from './prompts.js';
import type { AskHuman, CallPurpose, Role, TokenBudget, Usage } from './types.js';
import { checkBudget, reservationFor } from './budget.js';
import { toStrictJsonSchema } from './json-schema.js';

export interface CallMeta {
  workflowId: string;
  subtaskId: string | null;
  purpose: CallPurpose;
  role: Role;
  /** The workflow's token budget, checked before the call is sent. */
  budget?: TokenBudget | undefined;
}

export interface ProgressEvent {
  message: string;
  /** Steps done so far (subtasks done, for run_workflow). */
  progress: number;
  total?: number | undefined;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /** The workflow lock the caller already holds (run_workflow passes it to its reviews). */
  lockToken?: string | undefined;
  /** Present when the host can ask the human directly (MCP elicitation). */
  askHuman?: AskHuman | undefined;
}

/**
 * A request on the model of `role`. The cache key names the prompt's family (planner thread or
 * subtask execution), since that decides the shared prefix: a complex subtask runs on the planner
 * model with the executor's prompt.
 */
export function modelRequest(d: CoreDeps, role: Role, instructions: string, input: string, family: Role = role): ModelRequest {
  const model = d.settings.models[role];
  const req: ModelRequest = { model, role, instructions, input, cacheKey: `planexec-${family}` };
  if (d.settings.extendedCacheModels.includes(model)) req.cacheRetention = '24h';
  const cap = d.settings.maxOutputTokens[role];
  if (cap !== undefined) req.maxOutputTokens = cap;
  return req;
}

/** Journals a call about to be sent (status pending) in `store` (the caller's transaction, or the root). Returns the row id. */
export function beginCall(d: CoreDeps, store: Store, meta: CallMeta, model: string, reservedTokens: number | null = null): Promise<number> {
  const { workflowId, subtaskId, purpose, role } = meta;
  return store.calls.begin({ workflowId, subtaskId, purpose, role, model, owner: d.owner, startedAt: d.clock.now(), reservedTokens });
}

/** Completes a journal row with the provider's response id and usage. */
export function completeCall(d: CoreDeps, store: Store, callId: number, response: ModelResponse): Promise<void> {
  return store.calls.finish(callId, { status: 'completed', responseId: response.responseId, usage: response.usage, endedAt: d.clock.now() });
}

/** Marks a journal row failed with the error's description. */
export function failCall(d: CoreDeps, store: Store, callId: number, error: unknown): Promise<void> {
  return store.calls.finish(callId, { status: 'failed', error: describeError(error), endedAt: d.clock.now() });
}

function describeError(error: unknown): string {
  if (error instanceof PlanexecError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Sends one request with its journal row around it. */
export async function journaledCall(
  d: CoreDeps,
  meta: CallMeta,
  req: ModelRequest,
  opts: CallOptions,
): Promise<{ callId: number; response: ModelResponse }> {
  const budget = meta.budget;
  const need = budget ? await reservationFor(d, meta.workflowId, budget, req) : null;
  // Check and reserve in one transaction: concurrent calls cannot all fit in the same room.
  const callId = await d.store.transaction(async (tx) => {
    if (budget && need !== null) await checkBudget(d, tx, meta.workflowId, budget, req.role, need);
    return beginCall(d, tx, meta, req.model, need);
  });
  try {
    const response = await d.models.generate({ ...req, signal: opts.signal });
    await completeCall(d, d.store, callId, response);
    return { callId, response };
  } catch (error) {
    await failCall(d, d.store, callId, error);
    throw error;
  }
}

export interface StructuredResult<T> {
  value: T;
  /** Problems that remain after the repair round (empty when the answer is fully valid). */
  problems: string[];
  /** Head of the planner chain after this exchange. */
  responseId: string;
  /** Journal row of the call whose answer is returned. */
  callId: number;
  usage: CallUsage;
}

/** Tokens of the model calls one tool call made. */
export interface CallUsage extends Usage {
  calls: number;
}

export function sumUsage(responses: readonly ModelResponse[]): CallUsage {
  const total: CallUsage = { calls: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0 };
  for (const r of responses) {
    total.calls += 1;
    total.input_tokens += r.usage.input_tokens;
    total.cached_tokens += r.usage.cached_tokens;
    total.output_tokens += r.usage.output_tokens;
  }
  return total;
}

/**
 * A planner call answered in a JSON schema, with one repair round: when the answer does not parse
 * or `check` finds problems, the problems go back to the planner in the same chain.
 * Throws model_output_invalid when the answer still does not parse.
 */
export async function structuredPlannerCall<T>(
  d: CoreDeps,
  meta: Omit<CallMeta, 'role' | 'subtaskId'>,
  input: string,
  previousResponseId: string | null,
  format: { name: string; schema: z.ZodType<T> },
  check: (value: T) => string[],
  opts: CallOptions,
): Promise<StructuredResult<T>> {
  const wire = { name: format.name, schema: toStrictJsonSchema(format.schema) };
  const ask = async (purpose: CallPurpose, text: string, previous: string | null) => {
    const req = { ...modelRequest(d, 'planner', PLANNER_INSTRUCTIONS, text), previousResponseId: previous, format: wire };
    const { callId, response } = await journaledCall(d, { ...meta, purpose, role: 'planner', subtaskId: null }, req, opts);
    return { callId, response, ...parseAnswer(response.text, format.schema, check) };
  };

  const first = await ask(meta.purpose, input, previousResponseId);
  if (first.problems.length === 0 && first.value !== undefined) {
    return { value: first.value, problems: [], responseId: first.response.responseId, callId: first.callId, usage: sumUsage([first.response]) };
  }
  const second = await ask('repair', renderRepairInput(first.problems), first.response.responseId);
  if (second.value === undefined) {
    throw modelOutputInvalid(
      `The planner's ${format.name} answer was unusable twice: ${second.problems.join(' ')}`,
      'Nothing was stored. Retry; if it keeps failing, make the request narrower or clearer.',
      { problems: second.problems },
    );
  }
  const usage = sumUsage([first.response, second.response]);
  return { value: second.value, problems: second.problems, responseId: second.response.responseId, callId: second.callId, usage };
}

function parseAnswer<T>(text: string, schema: z.ZodType<T>, check: (value: T) => string[]): { value?: T; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problems: [`The answer is not valid JSON (${(error as Error).message}).`] };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return { problems: parsed.error.issues.map((i) => `${i.path.join('.') || 'answer'}: ${i.message}.`) };
  }
  return { value: parsed.data, problems: check(parsed.data) };
}

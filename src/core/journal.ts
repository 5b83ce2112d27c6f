// Model calls with their journal rows: a row is written before the request is sent and settled
// after, so every figure in the ledger comes from the provider's reported usage, or, where the
// provider billed a call but reported nothing (a cut-off response, a timeout, no usage block), from
// planexec's estimate of it, marked as such.
import type { z } from 'zod';
import { estimateInput } from './budget.js';
import type { CoreDeps } from './deps.js';
import { ModelCallError, modelOutputInvalid, PlanexecError, StorageError } from './errors.js';
import type { ModelRequest, ModelResponse, Store } from './ports.js';
import { PLANNER_INSTRUCTIONS, renderRepairInput } from './prompts.js';
import { utf8Bytes } from './text.js';
import type { AskHuman, CallPurpose, Role, ThreadTurn, TokenBudget, Usage } from './types.js';
import { checkBudget, reservationFor } from './budget.js';
import { toStrictJsonSchema } from './json-schema.js';

/** What the journal records of a call besides the request itself. */
export interface CallMeta {
  workflowId: string;
  subtaskId: string | null;
  purpose: CallPurpose;
  role: Role;
  /** The workflow's token budget, checked before the call is sent. */
  budget?: TokenBudget | undefined;
}

/** A step of a tool call's work, for MCP progress notifications (src/mcp/progress.ts). */
export interface ProgressEvent {
  message: string;
  /** Steps done so far (subtasks done, for run_workflow). */
  progress: number;
  total?: number | undefined;
}

/** What a use case gets from its caller for one tool call. */
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

/** UTF-8 bytes a request carries: instructions, schema, the thread sent with it, and its input. */
export function requestBytes(req: ModelRequest): number {
  let bytes = utf8Bytes(req.instructions) + utf8Bytes(req.input);
  if (req.format) bytes += utf8Bytes(JSON.stringify(req.format.schema));
  for (const t of req.history ?? []) bytes += utf8Bytes(t.input) + utf8Bytes(t.output);
  return bytes;
}

/** Journals a call about to be sent (status pending) in `store` (the caller's transaction, or the root). Returns the row id. */
export function beginCall(d: CoreDeps, store: Store, meta: CallMeta, req: ModelRequest, reservedTokens: number | null = null): Promise<number> {
  const { workflowId, subtaskId, purpose, role } = meta;
  const provider = d.settings.providers[req.role];
  return store.calls.begin({ workflowId, subtaskId, purpose, role, model: req.model, provider, owner: d.owner, startedAt: d.clock.now(), reservedTokens, requestBytes: requestBytes(req) });
}

/** Tokens a call billed, and whether they are planexec's estimate rather than the provider's report. */
export interface Billed {
  usage: Usage | null;
  estimated: boolean;
}

/**
 * Tokens of a billed call the provider reported nothing for: the input counted with o200k (see
 * estimateInput: the thread as the provider last reported it, or the history sent along, plus this
 * request), the output counted from `output` when there is one (0 when unknown). Loads the tokenizer.
 * Reads the journal through the root store: call it outside transactions.
 */
export async function estimateUsage(d: CoreDeps, req: ModelRequest, workflowId: string, output = ''): Promise<Usage> {
  const calls = req.previousResponseId ? await d.store.calls.list(workflowId) : [];
  return { input_tokens: estimateInput(d, req, calls), cached_tokens: 0, output_tokens: output ? d.tokens.count(output) : 0 };
}

/** The usage to journal for an answer: the provider's, or estimated when it reported none. Outside transactions. */
export async function responseUsage(d: CoreDeps, response: ModelResponse, req: ModelRequest, workflowId: string): Promise<Billed> {
  if (response.usage) return { usage: response.usage, estimated: false };
  return { usage: await estimateUsage(d, req, workflowId, response.text), estimated: true };
}

/** The usage to journal for a failed call: none unless the provider may have billed it (ModelCallError.billed). Outside transactions. */
export async function errorUsage(d: CoreDeps, error: unknown, req: ModelRequest, workflowId: string): Promise<Billed> {
  if (!(error instanceof ModelCallError && error.billed)) return { usage: null, estimated: false };
  if (error.usage) return { usage: error.usage, estimated: false };
  return { usage: await estimateUsage(d, req, workflowId), estimated: true };
}

/** Completes a journal row with the response id and its usage. */
export async function completeCall(d: CoreDeps, store: Store, callId: number, response: ModelResponse, billed: Billed): Promise<void> {
  await store.calls.finish(callId, { status: 'completed', responseId: response.responseId, usage: billed.usage, usageEstimated: billed.estimated, endedAt: d.clock.now() });
}

/** Marks a journal row failed with the error's description, keeping the tokens it billed. */
export async function failCall(d: CoreDeps, store: Store, callId: number, error: unknown, billed: Billed): Promise<void> {
  const responseId = error instanceof ModelCallError ? error.responseId : null;
  await store.calls.finish(callId, { status: 'failed', error: d.redact(describeError(error)), usage: billed.usage, usageEstimated: billed.estimated, responseId, endedAt: d.clock.now() });
}

function describeError(error: unknown): string {
  if (error instanceof ModelCallError) return `${error.reason}: ${error.message}`;
  if (error instanceof PlanexecError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Sends one request with its journal row around it: with `meta.budget`, the budget is checked and the
 * call's tokens reserved in the transaction that begins the row. Returns the row id, the answer and its
 * usage (reported, or estimated). Throws budget_exceeded (nothing sent, no row), what the provider
 * throws (see ModelProvider; the row is settled failed first), storage_unavailable (only before the
 * request is sent: once it is, a write the storage refuses is kept and retried, Runtime.settle).
 */
export async function journaledCall(
  d: CoreDeps,
  meta: CallMeta,
  req: ModelRequest,
  opts: CallOptions,
): Promise<{ callId: number; response: ModelResponse; usage: Usage }> {
  // Cancelled before it was sent (a check or a lock wait took the time): nothing to journal or bill.
  opts.signal?.throwIfAborted();
  const budget = meta.budget;
  const need = budget ? await reservationFor(d, meta.workflowId, budget, req) : null;
  // Check and reserve in one transaction: concurrent calls cannot all fit in the same room.
  const callId = await d.store.transaction(async (tx) => {
    if (budget && need !== null) await checkBudget(d, tx, meta.workflowId, budget, req.role, need);
    return beginCall(d, tx, meta, req, need);
  });
  let response: ModelResponse;
  try {
    response = await d.models[req.role].generate({ ...req, signal: opts.signal });
  } catch (error) {
    // Settling the row is kept and retried if the storage refuses it; the caller gets the model's error.
    await d.runtime.settle(`settling failed call ${callId} of ${meta.workflowId}`, async () => failCall(d, d.store, callId, error, await errorUsage(d, error, req, meta.workflowId)));
    throw error;
  }
  // Once sent, nothing here throws StorageError: the answer is billed, so its record is kept and
  // written when the storage is back, and the caller gets the answer (a StorageError from this
  // function always means nothing was sent).
  const billed = await responseUsage(d, response, req, meta.workflowId).catch((error: unknown) => {
    if (!(error instanceof StorageError)) throw error;
    return { usage: { input_tokens: estimateInput(d, req, []), cached_tokens: 0, output_tokens: d.tokens.count(response.text) }, estimated: true };
  });
  await d.runtime.settle(`recording the answer of call ${callId} of ${meta.workflowId}`, () => completeCall(d, d.store, callId, response, billed));
  return { callId, response, usage: billed.usage! };
}

/** The planner's thread a call continues: the provider's handle on it, and planexec's own record. */
export interface PlannerThread {
  /** The last response of the thread at the provider (previous_response_id); null for a new thread. */
  head: string | null;
  /** planexec's record of the thread, oldest first; loaded only when it has to be sent. */
  turns(): Promise<ThreadTurn[]>;
  /**
   * What a thread sent again must start with when planexec has no record of it (a thread begun by an
   * older planexec): the workflow's state, as after a compaction.
   */
  state?(): Promise<string>;
}

/** A thread with nothing before it. */
export const NEW_THREAD: PlannerThread = { head: null, turns: async () => [] };

/** What structuredPlannerCall answers. */
export interface StructuredResult<T> {
  value: T;
  /** Problems that remain after the repair round (empty when the answer is fully valid). */
  problems: string[];
  /** Head of the planner chain after this exchange (null when the provider keeps no threads). */
  responseId: string | null;
  /** Journal row of the call whose answer is returned. */
  callId: number;
  usage: CallUsage;
  /** The exchanges this call added to the thread, to append to planexec's record of it. */
  turns: Array<ThreadTurn & { callId: number }>;
  /** The provider had lost the thread; it was sent again from planexec's record (see the journal). */
  rebuilt: boolean;
}

/** Tokens of the model calls one tool call made. */
export interface CallUsage extends Usage {
  calls: number;
}

/** The usage of a tool call: `calls` counts the usages summed, tokens add up. */
export function sumUsage(usages: readonly Usage[]): CallUsage {
  const total: CallUsage = { calls: 0, input_tokens: 0, cached_tokens: 0, output_tokens: 0 };
  for (const u of usages) {
    total.calls += 1;
    total.input_tokens += u.input_tokens;
    total.cached_tokens += u.cached_tokens;
    total.output_tokens += u.output_tokens;
  }
  return total;
}

/**
 * Throws budget_exceeded (nothing written, nothing sent) when a planner call of `input` on the
 * workflow's thread cannot fit its planner budget: the same estimate the journaled call makes, taken
 * before the workflow's lock so that a refused review or revision changes nothing. The journaled
 * call checks again (compaction may change its input). Reads only.
 */
export async function precheckPlannerBudget(d: CoreDeps, workflow: { id: string; budget: TokenBudget; plannerResponseId: string | null }, input: string): Promise<void> {
  const req: ModelRequest = { ...modelRequest(d, 'planner', PLANNER_INSTRUCTIONS, input), ...(workflow.plannerResponseId ? { previousResponseId: workflow.plannerResponseId } : {}) };
  const need = await reservationFor(d, workflow.id, workflow.budget, req);
  if (need !== null) await checkBudget(d, d.store, workflow.id, workflow.budget, 'planner', need);
}

/**
 * A planner call answered in a JSON schema, continuing `thread`, with one repair round: when the
 * answer does not parse or `check` finds problems, the problems go back to the planner in the same
 * thread. When the provider has lost the thread (reason thread_lost), the call is sent once more
 * with the thread from planexec's own record (or, without one, `thread.state()`): both attempts are
 * journaled. Problems `check` still finds after the repair come back in `problems` for the caller to
 * judge. Throws model_output_invalid when the answer still does not parse, budget_exceeded (nothing
 * sent), the provider's errors (ModelCallError), storage_unavailable.
 */
export async function structuredPlannerCall<T>(
  d: CoreDeps,
  meta: Omit<CallMeta, 'role' | 'subtaskId'>,
  input: string,
  thread: PlannerThread,
  format: { name: string; schema: z.ZodType<T> },
  check: (value: T) => string[],
  opts: CallOptions,
): Promise<StructuredResult<T>> {
  const wire = { name: format.name, schema: toStrictJsonSchema(format.schema) };
  const serverThreads = d.models.planner.capabilities.serverThreads;
  let rebuilt = false;
  const send = async (purpose: CallPurpose, text: string, head: string | null, history: () => Promise<ThreadTurn[]>) => {
    const base = { ...modelRequest(d, 'planner', PLANNER_INSTRUCTIONS, text), format: wire };
    const turns = serverThreads && head ? [] : await history();
    const req: ModelRequest = serverThreads && head ? { ...base, previousResponseId: head } : turns.length ? { ...base, history: turns } : base;
    try {
      return { text, ...(await journaledCall(d, { ...meta, purpose, role: 'planner', subtaskId: null }, req, opts)) };
    } catch (error) {
      if (!(error instanceof ModelCallError && error.reason === 'thread_lost' && req.previousResponseId)) throw error;
      // The provider no longer has the thread (stored responses expire; another key; a proxy that
      // stores nothing): send it again from planexec's record, as a new thread.
      rebuilt = true;
      const record = await history();
      const restart = record.length === 0 && thread.state ? `${await thread.state()}\n\n${text}` : text;
      const again: ModelRequest = record.length ? { ...base, input: restart, history: record } : { ...base, input: restart };
      return { text: restart, ...(await journaledCall(d, { ...meta, purpose, role: 'planner', subtaskId: null }, again, opts)) };
    }
  };

  const first = await send(meta.purpose, input, thread.head, thread.turns);
  const firstTurn = { input: first.text, output: first.response.text, callId: first.callId };
  const parsedFirst = parseAnswer(first.response.text, format.schema, check);
  if (parsedFirst.problems.length === 0 && parsedFirst.value !== undefined) {
    return { value: parsedFirst.value, problems: [], responseId: first.response.responseId, callId: first.callId, usage: sumUsage([first.usage]), turns: [firstTurn], rebuilt };
  }
  const sofar = async () => [...(await thread.turns()), firstTurn];
  const second = await send('repair', renderRepairInput(parsedFirst.problems), first.response.responseId, sofar);
  const parsedSecond = parseAnswer(second.response.text, format.schema, check);
  if (parsedSecond.value === undefined) {
    throw modelOutputInvalid(
      `The planner's ${format.name} answer was unusable twice: ${parsedSecond.problems.join(' ')}`,
      'Nothing was stored. Retry; if it keeps failing, make the request narrower or clearer.',
      { problems: parsedSecond.problems },
    );
  }
  const turns = [firstTurn, { input: second.text, output: second.response.text, callId: second.callId }];
  const usage = sumUsage([first.usage, second.usage]);
  return { value: parsedSecond.value, problems: parsedSecond.problems, responseId: second.response.responseId, callId: second.callId, usage, turns, rebuilt };
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

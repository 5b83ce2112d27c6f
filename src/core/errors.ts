import { textProblem } from './text.js';
import type { Usage } from './types.js';

// Typed domain errors. Each carries a stable `code` and a `hint` that tells the caller what to do next;
// src/mcp/result.ts is the one place that turns them into isError tool results.

/**
 * The stable codes of PlanexecError: a host may branch on them (they reach it as the `code` of an isError
 * result, src/mcp/result.ts), so a code is never renamed or reused for another meaning.
 */
export type ErrorCode =
  | 'not_found'
  | 'invalid_input'
  | 'invalid_transition'
  | 'dependencies_incomplete'
  | 'nothing_to_do'
  | 'model_output_invalid'
  | 'model_unavailable'
  | 'budget_exceeded'
  | 'path_outside_root'
  | 'file_unreadable'
  | 'storage_unavailable'
  | 'cancelled'
  | 'git_failed';

/**
 * The one error type of the core. `message` says what was wrong, `hint` what to do next (both shown to
 * the host); `details` is structured context for the log and for callers that branch on it (e.g.
 * `reason: 'concurrent'` or `'locked'` on invalid_transition). Anything thrown that is not a
 * PlanexecError reaches the host only as an internal error.
 */
export class PlanexecError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, hint: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'PlanexecError';
    this.code = code;
    this.hint = hint;
    this.details = details;
  }
}

/** not_found: "<what> '<id>' does not exist."; details { id }. */
export function notFound(what: string, id: string, hint: string): PlanexecError {
  return new PlanexecError('not_found', `${what} '${id}' does not exist.`, hint, { id });
}

/** invalid_input: the call's arguments cannot be used as given; nothing was written. */
export function invalidInput(message: string, hint: string): PlanexecError {
  return new PlanexecError('invalid_input', message, hint);
}

/** Throws invalid_input for the first text that cannot go to a model (see textProblem): [field, text, required?]. */
export function checkTexts(...texts: Array<[field: string, text: string | null | undefined, required?: boolean]>): void {
  for (const [field, text, required] of texts) {
    if (text === null || text === undefined) continue;
    const problem = textProblem(field, text, required ?? false);
    if (problem) throw invalidInput(problem, 'Nothing was sent or stored. Fix the text and call again.');
  }
}

/**
 * invalid_transition: the arguments are fine, but the workflow or subtask is not in a state that allows
 * the call (ended, running, locked, discarded...).
 */
export function invalidTransition(message: string, hint: string): PlanexecError {
  return new PlanexecError('invalid_transition', message, hint);
}

/**
 * dependencies_incomplete: `subtaskId` needs `missing` (subtask ids, in plan order) completed first;
 * details { subtask_id, missing }.
 */
export function dependenciesIncomplete(subtaskId: string, missing: string[], hint: string): PlanexecError {
  return new PlanexecError(
    'dependencies_incomplete',
    `Subtask '${subtaskId}' depends on ${missing.map((m) => `'${m}'`).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not completed yet.`,
    hint,
    { subtask_id: subtaskId, missing },
  );
}

/** nothing_to_do: the call has nothing to act on (no ready subtask, nothing completed to review). */
export function nothingToDo(message: string, hint: string): PlanexecError {
  return new PlanexecError('nothing_to_do', message, hint);
}

/**
 * model_output_invalid: a model answered, but its answer cannot be used (a plan or review still invalid
 * after the repair round); `details.problems` lists why, when known.
 */
export function modelOutputInvalid(message: string, hint: string, details: Record<string, unknown> = {}): PlanexecError {
  return new PlanexecError('model_output_invalid', message, hint, details);
}

/**
 * Why a model call did not give an answer. The provider adapters map every failure to one of these
 * (src/core/ports.ts, ModelProvider, states the contract):
 * - no_api_key, auth, rate_limit, quota, server, network, bad_request: the request was refused or
 *   never reached the model (nothing billed);
 * - timeout, aborted: sent, then given up on (the provider may bill it);
 * - thread_lost: the provider no longer has the thread the request continues (previous_response_id);
 * - incomplete, refused, failed, empty: the provider answered, but not with an answer (billed);
 * - bad_response: a malformed or cut-off response (billed as far as anyone can tell);
 * - tool_unsupported: the model does not take a tool the request offered (apply_patch); nothing billed.
 */
export type ModelFailure =
  | 'no_api_key'
  | 'auth'
  | 'rate_limit'
  | 'quota'
  | 'server'
  | 'timeout'
  | 'network'
  | 'bad_request'
  | 'aborted'
  | 'thread_lost'
  | 'incomplete'
  | 'refused'
  | 'failed'
  | 'empty'
  | 'bad_response'
  | 'tool_unsupported';

const OUTPUT_FAILURES: ReadonlySet<ModelFailure> = new Set(['incomplete', 'refused', 'empty']);

/**
 * A model call that gave no usable answer. `billed`: the provider may have charged for it (it
 * answered, or the request was cut off after it was sent); `usage`: what the provider reported for
 * it, when it did (null: unknown, the journal then estimates it when `billed`).
 * Code: cancelled for aborted; model_output_invalid for incomplete, refused and empty answers;
 * model_unavailable otherwise.
 */
export class ModelCallError extends PlanexecError {
  readonly reason: ModelFailure;
  readonly billed: boolean;
  readonly usage: Usage | null;
  readonly responseId: string | null;
  constructor(
    reason: ModelFailure,
    message: string,
    hint: string,
    extra: { billed?: boolean; usage?: Usage | null; responseId?: string | null; details?: Record<string, unknown> } = {},
  ) {
    const code: ErrorCode = reason === 'aborted' ? 'cancelled' : OUTPUT_FAILURES.has(reason) ? 'model_output_invalid' : 'model_unavailable';
    super(code, message, hint, { ...extra.details, reason });
    this.name = 'ModelCallError';
    this.reason = reason;
    this.billed = extra.billed ?? false;
    this.usage = extra.usage ?? null;
    this.responseId = extra.responseId ?? null;
  }
}

/**
 * path_outside_root: `path` leaves the workspace root (absolute, "..", a symlink out); `why` completes
 * the sentence. details { path }.
 */
export function pathOutsideRoot(path: string, why: string): PlanexecError {
  return new PlanexecError(
    'path_outside_root',
    `Path '${path}' is not allowed: ${why}.`,
    'Give paths relative to the workspace root (PLANEXEC_ROOT), without "..", that stay inside it.',
    { path },
  );
}

/**
 * file_unreadable: `path` cannot or must not be read (missing, not a regular file, binary where text
 * is needed); `why` completes the sentence. details { path }.
 */
export function fileUnreadable(path: string, why: string): PlanexecError {
  return new PlanexecError(
    'file_unreadable',
    `File '${path}' cannot be read: ${why}.`,
    'Check that the path names an existing regular file under the workspace root (PLANEXEC_ROOT).',
    { path },
  );
}

/** What went wrong with the database itself (not with the data in it). */
export type StorageFailure = 'full' | 'read_only' | 'corrupt' | 'busy' | 'io' | 'connection';

const STORAGE_HINTS: Record<StorageFailure, string> = {
  full: 'The disk (or the database size limit) is full: free space where PLANEXEC_DB lives, then retry; nothing of this call was kept.',
  read_only: 'The database file or its folder is read-only: make PLANEXEC_DB writable by this user (or point it elsewhere) and restart.',
  corrupt: 'The database file is damaged: stop planexec, keep a copy of the file for inspection, and point PLANEXEC_DB at a new file.',
  busy: 'Another process holds the database\'s write lock: retry shortly; if it persists, find the process keeping PLANEXEC_DB locked.',
  io: 'The disk reported an I/O error: check the file system where PLANEXEC_DB lives, then retry.',
  connection: 'The connection to the database was lost: check that the database server is reachable (PLANEXEC_DB), then retry; the workflow can be resumed.',
};

/** A storage failure: the write (or read) did not happen; the transaction was rolled back. */
export class StorageError extends PlanexecError {
  readonly reason: StorageFailure;
  constructor(reason: StorageFailure, detail: string) {
    super('storage_unavailable', `The database cannot be used (${reason.replace('_', '-')}): ${detail}`, STORAGE_HINTS[reason], { reason });
    this.name = 'StorageError';
    this.reason = reason;
  }
}

/** The setting that lets the workspace reader send files that hold secrets by convention. */
export const ALLOW_SECRET_FILES_SETTING = 'PLANEXEC_ALLOW_SECRET_FILES';
/** The setting that lets the workspace reader send files with more than one hard link. */
export const ALLOW_HARDLINKS_SETTING = 'PLANEXEC_ALLOW_HARDLINKS';

/**
 * A workspace file withheld because its name says it holds secrets (see src/core/secret-files.ts).
 * Code file_unreadable, so the executor context reports it as not shown instead of failing the
 * subtask; details: { path, withheld: 'secret_file', setting }.
 */
export function secretFileWithheld(path: string, reason: string): PlanexecError {
  return new PlanexecError(
    'file_unreadable',
    `File '${path}' is not sent: ${reason}. Files that hold secrets by convention are withheld.`,
    `Leave it out of the files to read, or set ${ALLOW_SECRET_FILES_SETTING}=true to let planexec send such files to the model.`,
    { path, withheld: 'secret_file', setting: ALLOW_SECRET_FILES_SETTING },
  );
}

/**
 * A workspace file withheld because it has more than one hard link: a hard link to a file outside the
 * workspace root looks, by every path, like a file inside it. Code file_unreadable;
 * details: { path, withheld: 'hard_link', links, setting }.
 */
export function hardLinkWithheld(path: string, links: number): PlanexecError {
  return new PlanexecError(
    'file_unreadable',
    `File '${path}' is not sent: it has ${links} hard links, and a hard link to a file outside the workspace root cannot be told apart from a file inside it.`,
    `Replace the hard link with a copy, or set ${ALLOW_HARDLINKS_SETTING}=true if this workspace uses hard links on purpose (pnpm stores, hard-linked node_modules).`,
    { path, withheld: 'hard_link', links, setting: ALLOW_HARDLINKS_SETTING },
  );
}

/**
 * A git command planexec ran failed. `command` is the git command line as run (arguments only, no
 * environment), `stderrTail` the end of what git printed (scrubbed of the environment's secrets by the
 * adapter), `hint` what the user can do; details carry both for the log.
 */
export function gitFailed(command: string, stderrTail: string, hint: string, details: Record<string, unknown> = {}): PlanexecError {
  const said = stderrTail.trim();
  return new PlanexecError('git_failed', `'${command}' failed${said ? `: ${said}` : ''}.`, hint, { ...details, command, stderr: said });
}

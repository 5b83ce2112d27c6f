// Typed domain errors. Each carries a stable `code` and a `hint` that tells the caller what to do next;
// src/mcp/result.ts is the one place that turns them into isError tool results.

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
  | 'cancelled';

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

export function notFound(what: string, id: string, hint: string): PlanexecError {
  return new PlanexecError('not_found', `${what} '${id}' does not exist.`, hint, { id });
}

export function invalidInput(message: string, hint: string): PlanexecError {
  return new PlanexecError('invalid_input', message, hint);
}

export function invalidTransition(message: string, hint: string): PlanexecError {
  return new PlanexecError('invalid_transition', message, hint);
}

export function dependenciesIncomplete(subtaskId: string, missing: string[], hint: string): PlanexecError {
  return new PlanexecError(
    'dependencies_incomplete',
    `Subtask '${subtaskId}' depends on ${missing.map((m) => `'${m}'`).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not completed yet.`,
    hint,
    { subtask_id: subtaskId, missing },
  );
}

export function nothingToDo(message: string, hint: string): PlanexecError {
  return new PlanexecError('nothing_to_do', message, hint);
}

export function modelOutputInvalid(message: string, hint: string, details: Record<string, unknown> = {}): PlanexecError {
  return new PlanexecError('model_output_invalid', message, hint, details);
}

/** Why a model call could not be made or did not come back; the adapter fills in the specifics. */
export type UnavailableReason = 'no_api_key' | 'auth' | 'rate_limit' | 'server' | 'timeout' | 'network' | 'bad_request' | 'aborted';

export class ModelUnavailableError extends PlanexecError {
  readonly reason: UnavailableReason;
  constructor(reason: UnavailableReason, message: string, hint: string, details: Record<string, unknown> = {}) {
    super(reason === 'aborted' ? 'cancelled' : 'model_unavailable', message, hint, { ...details, reason });
    this.name = 'ModelUnavailableError';
    this.reason = reason;
  }
}

export function pathOutsideRoot(path: string, why: string): PlanexecError {
  return new PlanexecError(
    'path_outside_root',
    `Path '${path}' is not allowed: ${why}.`,
    'Give paths relative to the workspace root (PLANEXEC_ROOT), without "..", that stay inside it.',
    { path },
  );
}

export function fileUnreadable(path: string, why: string): PlanexecError {
  return new PlanexecError(
    'file_unreadable',
    `File '${path}' cannot be read: ${why}.`,
    'Check that the path names an existing regular file under the workspace root (PLANEXEC_ROOT).',
    { path },
  );
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

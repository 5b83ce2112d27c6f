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
  | 'cancelled'
  | 'git_failed';

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

/**
 * A git command planexec ran failed. `command` is the git command line as run (arguments only, no
 * environment), `stderrTail` the end of what git printed (scrubbed of the environment's secrets by the
 * adapter), `hint` what the user can do; details carry both for the log.
 */
export function gitFailed(command: string, stderrTail: string, hint: string, details: Record<string, unknown> = {}): PlanexecError {
  const said = stderrTail.trim();
  return new PlanexecError('git_failed', `'${command}' failed${said ? `: ${said}` : ''}.`, hint, { ...details, command, stderr: said });
}

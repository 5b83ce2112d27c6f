// The one place where use-case results and errors become MCP tool results, each bounded (bound.ts).
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { PlanexecError } from '../core/errors.js';
import { clipBytes } from '../core/text.js';
import type { Logger } from '../log.js';
import { boundResult } from './bound.js';

/** Counts o200k tokens (the core's TokenCounter). */
export type Count = (text: string) => number;

/** structuredContent plus its text rendering (and `suffix`), bounded together. */
export function toolResult<T extends object>(data: T, render: (result: T) => string, count: Count, suffix?: string): CallToolResult {
  return boundResult(data, render, { count, ...(suffix ? { suffix } : {}) });
}

const NO_FIELD_PROTECTED: ReadonlySet<string> = new Set();

/**
 * An isError result: a PlanexecError's code, message and hint (bounded: a message may quote what a
 * model wrote); anything else as an internal error whose details go to the log only.
 */
export function errorResult(error: unknown, log: Logger, count: Count): CallToolResult {
  if (error instanceof PlanexecError) {
    const details = JSON.stringify(error.details).length <= 2_000 ? error.details : '(too large to log)';
    log.info({ code: error.code, details }, clipBytes(error.message, 4_000).text);
    const data = { code: error.code, message: error.message, hint: error.hint };
    return boundResult(data, (d) => `Error (${d.code}): ${d.message}\nWhat to do: ${d.hint}`, { count, isError: true, protect: NO_FIELD_PROTECTED });
  }
  log.error({ err: error }, 'unexpected error in a tool call');
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text: 'Error (internal): planexec hit an unexpected problem. The details are in the server log (stderr of the planexec process). Retry, and report it if it repeats.',
      },
    ],
  };
}

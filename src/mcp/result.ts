// The one place where use-case results and errors become MCP tool results.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { PlanexecError } from '../core/errors.js';
import type { Logger } from '../log.js';

export function toolResult(data: object, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: data as Record<string, unknown> };
}

export function errorResult(error: unknown, log: Logger): CallToolResult {
  if (error instanceof PlanexecError) {
    log.info({ code: error.code, details: error.details }, error.message);
    return { isError: true, content: [{ type: 'text', text: `Error (${error.code}): ${error.message}\nWhat to do: ${error.hint}` }] };
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

/** Runs a use case and maps its outcome; never throws. */
export async function runTool<T extends object>(log: Logger, work: () => Promise<T> | T, render: (result: T) => string): Promise<CallToolResult> {
  try {
    const result = await work();
    return toolResult(result, render(result));
  } catch (error) {
    return errorResult(error, log);
  }
}

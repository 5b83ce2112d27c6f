// MCP over this process's stdin/stdout. Every way the transport can end reaches `onStop` once with
// the reason: stdin closing (the host is done), the SDK closing the transport (a line over its 10 MiB
// limit: the SDK drops its buffer and stops reading), a stream error on stdin or stdout (EPIPE when
// the host died). A line that is not a JSON-RPC message costs only that line: the SDK skips it
// (it sends no parse error) and it is logged here.
import type { Writable } from 'node:stream';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Logger } from '../log.js';

/** What serveStdio reports to, and where it writes. */
export interface StdioHooks {
  log: Logger;
  /**
   * The transport ended: stop the process. `failed` is true when it ended on an error rather than
   * on the host closing stdin. Called at most once.
   */
  onStop(why: string, failed: boolean): void;
  /** Where MCP messages go: default process.stdout; the bin passes the channel its stdout guard keeps for the protocol (src/stdout-guard.ts). */
  stdout?: Writable;
}

/** Serves MCP on this process's stdin/stdout until the transport ends (see StdioHooks.onStop). */
export async function serveStdio(server: McpServer, { log, onStop, stdout }: StdioHooks): Promise<void> {
  let stopped = false;
  const stop = (why: string, failed: boolean) => {
    if (stopped) return;
    stopped = true;
    onStop(why, failed);
  };
  const transport = new StdioServerTransport(undefined, stdout);
  let lastError: Error | null = null;
  // Set before connect(): the SDK's Protocol chains its own handlers after these.
  transport.onerror = (error) => {
    if (isBadMessage(error)) {
      log.warn({ err: { type: error.name, message: error.message.slice(0, 300) } }, 'skipped a line on stdin that is not a JSON-RPC message');
      return;
    }
    lastError = error;
    log.error({ err: error }, 'the MCP transport failed');
    // Stdin's own errors leave the transport open but deaf; the SDK closes it on the others.
    stop(`the MCP transport failed: ${error.message}`, true);
  };
  transport.onclose = () => stop(lastError ? `the MCP transport failed: ${lastError.message}` : 'the MCP transport closed', lastError !== null);
  // Errors of the Protocol layer (a response to an unknown request, a failing handler): logged, not fatal.
  server.server.onerror = (error) => log.warn({ err: error }, 'MCP protocol error');
  // The SDK's transport does not end when the host closes stdin; the process must.
  process.stdin.on('end', () => stop('stdin closed', false));
  process.stdin.on('close', () => stop('stdin closed', false));
  (stdout ?? process.stdout).on('error', (error) => stop(`stdout failed: ${error.message}`, true));
  await server.connect(transport);
}

/** An error the SDK raises for one unreadable line (JSON.parse, or the JSON-RPC schema check). */
function isBadMessage(error: Error): boolean {
  return error instanceof SyntaxError || error.name === 'ZodError' || error.name === '$ZodError';
}

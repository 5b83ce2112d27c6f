import type { Writable } from 'node:stream';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

/**
 * Serves MCP on this process's stdin and `stdout` (default process.stdout; the bin passes the
 * channel its stdout guard keeps for the protocol, see src/stdout-guard.ts).
 */
export async function serveStdio(server: McpServer, stdout?: Writable): Promise<void> {
  await server.connect(new StdioServerTransport(undefined, stdout));
}

// Starts the built server (dist/cli.js) as an MCP host would, and talks to it with the SDK's Client.
import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const CLI = resolve('dist/cli.js');

export interface Connected {
  client: Client;
  pid: number;
  /** structuredContent of a tool call; throws with the tool's error text when it fails. */
  call<T = any>(name: string, args?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

export async function connectServer(env: Record<string, string>): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'planexec-script', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    pid: transport.pid ?? -1,
    async call(name, args = {}) {
      const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 15 * 60_000 });
      if (result.isError) {
        const text = (result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');
        throw new Error(`${name} failed: ${text}`);
      }
      return result.structuredContent as any;
    },
    close: () => client.close(),
  };
}

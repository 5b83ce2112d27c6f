// Spawns the built server (dist/cli.js) and speaks newline-delimited JSON-RPC to it, keeping every
// line it writes to stdout so tests can check that nothing but JSON-RPC appears there.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve('dist/cli.js');

export interface RawServer {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  request(method: string, params?: object): Promise<any>;
  notify(method: string, params?: object): void;
  initialize(): Promise<any>;
  /** tools/call; resolves with the result (or the JSON-RPC error). */
  call(name: string, args: object, extraParams?: object): Promise<any>;
  exited: Promise<number | null>;
  stderr(): string;
}

export function spawnServer(env: Record<string, string>, opts: { cwd?: string; args?: string[] } = {}): RawServer {
  const child = spawn(process.execPath, [CLI, ...(opts.args ?? [])], { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] }) as ChildProcessWithoutNullStreams;
  // Writing to a server that has exited fails with EPIPE; the test reads that from `exited`.
  child.stdin.on('error', () => undefined);
  const lines: string[] = [];
  const waiters: Array<{ id: number; resolve: (msg: any) => void }> = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      try {
        const msg = JSON.parse(line);
        const w = waiters.findIndex((x) => x.id === msg.id);
        if (w >= 0) waiters.splice(w, 1)[0]!.resolve(msg);
      } catch {
        // kept in `lines`; tests check that every line parses
      }
    }
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let nextId = 1;
  const request = (method: string, params: object = {}) => {
    const id = nextId++;
    const reply = new Promise<any>((res) => waiters.push({ id, resolve: res }));
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    return reply;
  };
  const notify = (method: string, params: object = {}) => void child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
  const initialize = async () => {
    const init = await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    notify('notifications/initialized');
    return init;
  };
  const call = async (name: string, args: object, extraParams: object = {}) => {
    const reply = await request('tools/call', { name, arguments: args, ...extraParams });
    return reply.result ?? reply;
  };
  return { child, lines, request, notify, initialize, call, exited, stderr: () => stderr };
}

export const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what} did not happen within ${ms} ms`)), ms))]);

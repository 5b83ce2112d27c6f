// `planexec --http` as users start it (the built dist/cli.js): the refusal to bind a non-loopback
// address without a token, a port in use, the bearer token and Origin checks, a whole workflow
// with progress through the SDK's Streamable HTTP client, and SIGTERM ending the sessions and the
// process cleanly, with nothing on stdout and the token in no log line.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIStandin, type OpenAIStandin } from '../support/openai-standin.js';
import { THREE_WAVES, workflowResponder } from '../support/responders.js';
import { CLI, withTimeout } from '../support/spawn.js';

const TOKEN = 'e2e-token-7f3a9c1d5b2e8f4a6c0d';

interface Started {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

let standin: OpenAIStandin;
let dir: string;
let started: Started | null = null;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
  standin = await startOpenAIStandin({ responder: workflowResponder(THREE_WAVES) });
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-http-e2e-'));
  standin.reset();
});
afterEach(() => {
  if (started && started.child.exitCode === null) started.child.kill('SIGKILL');
  started = null;
  rmSync(dir, { recursive: true, force: true });
});

function start(args: string[], env: Record<string, string> = {}): Started {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: standin.baseURL,
      PLANEXEC_DB: join(dir, 'state.db'),
      PLANEXEC_ROOT: dir,
      PLANEXEC_LOG_LEVEL: 'debug',
      PLANEXEC_CHANGES: 'off',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcessWithoutNullStreams;
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  started = { child, stdout: () => out, stderr: () => err, exited };
  return started;
}

/** The URL the server logs once it listens. */
async function urlOf(s: Started): Promise<string> {
  let url: string | undefined;
  await withTimeout(
    (async () => {
      while (!(url = /"url":"(http:\/\/[^"]+)"/.exec(s.stderr())?.[1])) {
        if (s.child.exitCode !== null) throw new Error(`the server exited: ${s.stderr()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
    15_000,
    'the server to listen',
  );
  return url!;
}

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const post = (url: string, headers: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(INIT) });

describe('starting planexec --http', () => {
  it('refuses a non-loopback address without a token: exit 2, naming the setting and PLANEXEC_HTTP_TOKEN', async () => {
    const s = start(['--http', '0.0.0.0:0']);
    expect(await withTimeout(s.exited, 15_000, 'exit')).toBe(2);
    expect(s.stderr()).toMatch(/^planexec: --http 0\.0\.0\.0:0: 0\.0\.0\.0 is not a loopback address and PLANEXEC_HTTP_TOKEN is not set/);
    expect(s.stdout()).toBe('');

    const fromEnv = start([], { PLANEXEC_HTTP: '[::]:0' });
    expect(await withTimeout(fromEnv.exited, 15_000, 'exit')).toBe(2);
    expect(fromEnv.stderr()).toMatch(/^planexec: PLANEXEC_HTTP \[::\]:0: :: is not a loopback address and PLANEXEC_HTTP_TOKEN is not set/);
  });

  it('a port in use: exit 1, saying so', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = (taken.address() as { port: number }).port;
      const s = start(['--http', `127.0.0.1:${port}`], { PLANEXEC_HTTP_TOKEN: TOKEN });
      expect(await withTimeout(s.exited, 15_000, 'exit')).toBe(1);
      expect(s.stderr()).toContain(`planexec: --http 127.0.0.1:${port}: cannot listen: the port is in use`);
    } finally {
      taken.close();
    }
  });
});

describe('serving', () => {
  it('asks the token and checks Origin, runs a whole workflow with progress, and stops on SIGTERM with nothing on stdout', async () => {
    const s = start(['--http', '127.0.0.1:0'], { PLANEXEC_HTTP_TOKEN: `alice=${TOKEN}` });
    const url = await urlOf(s);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

    const none = await post(url, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await post(url, { Authorization: `Bearer not-${TOKEN}` })).status).toBe(401);
    expect((await post(url, { Authorization: `Bearer ${TOKEN}`, Origin: 'https://evil.example.com' })).status).toBe(403);

    const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } });
    const client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(transport);
    const progress: Progress[] = [];
    const result = await client.callTool({ name: 'run_workflow', arguments: { request: 'Build it in three waves' } }, undefined, { onprogress: (p) => progress.push(p) });
    expect((result.structuredContent as any).phase).toBe('completed');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.message).toMatch(/6 of 6 done/);

    s.child.kill('SIGTERM');
    expect(await withTimeout(s.exited, 15_000, 'exit after SIGTERM')).toBe(0);
    await client.close();
    expect(s.stdout()).toBe('');
    expect(s.stderr()).toMatch(/"requester":"alice".*"msg":"MCP session opened"/);
    expect(s.stderr()).toMatch(/"why":"SIGTERM".*"msg":"stopping"/);
    expect(s.stderr()).not.toContain(TOKEN);
  });
});

// MCP over Streamable HTTP (src/mcp/http.ts), in process: bearer tokens and requester names, Origin
// and Host checks, sessions (two at once, DELETE, idle, the cap), resumable SSE after a broken
// stream, and planexec's own tools through the SDK's StreamableHTTPClientTransport: a whole
// workflow with progress, cancellation, and an MCP task that outlives the session that made it.
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateTaskResultSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { compose, type Composed } from '../../src/main.js';
import { serveHttp, type HttpHandle, type HttpServeOptions } from '../../src/mcp/http.js';
import { createScope, createServer, stopScope } from '../../src/mcp/server.js';
import { startOpenAIStandin, type OpenAIStandin, type Responder } from '../support/openai-standin.js';
import { THREE_WAVES, subtaskOf, until, workflowResponder } from '../support/responders.js';

const ALICE = 'alice-0123456789abcdef0123456789';
const BOB = 'bob-fedcba9876543210fedcba987654';
const TOKENS = `alice=${ALICE}\nbob=${BOB}`;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Planexec {
  url: string;
  handle: HttpHandle;
  composed: Composed;
  standin: OpenAIStandin;
}

/** planexec itself behind serveHttp, wired as main() wires it: one core, a server per session, one scope. */
async function startPlanexec(opts: { responder?: Responder; env?: Record<string, string> } = {}): Promise<Planexec> {
  const dir = mkdtempSync(join(tmpdir(), 'planexec-http-'));
  const root = join(dir, 'workspace');
  mkdirSync(root);
  const standin = await startOpenAIStandin(opts.responder ? { responder: opts.responder } : {});
  const config = loadConfig(
      {
        OPENAI_API_KEY: 'test-key',
        OPENAI_BASE_URL: standin.baseURL,
        PLANEXEC_DB: join(dir, 'state.db'),
        PLANEXEC_ROOT: root,
        PLANEXEC_MAX_RETRIES: '0',
        PLANEXEC_WORKTREES: join(dir, 'worktrees'),
        PLANEXEC_HTTP: '127.0.0.1:0',
        PLANEXEC_HTTP_TOKEN: TOKENS,
        ...opts.env,
      },
      { cwd: dir },
    );
  const composed = await compose(config);
  const log = createLogger('silent');
  const scope = createScope();
  const deps = { app: composed.app, log, version: 'test', progressIntervalMs: config.progressIntervalMs, clientRoots: false, redact: composed.redact, scope };
  const handle = await serveHttp({ ...config.http!, tokens: config.http!.tokens, log, newSession: () => createServer(deps).server });
  cleanups.push(async () => {
    composed.runtime.stop();
    await composed.commands.killAll();
    await stopScope(scope, 0);
    await handle.close();
    await composed.close();
    await standin.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { url: handle.url, handle, composed, standin };
}

/** serveHttp over a small MCP server whose tools show what the transport hands them. */
async function startToyServer(opts: Partial<HttpServeOptions> = {}): Promise<{ handle: HttpHandle; gate: { open(): void } }> {
  let release: () => void = () => undefined;
  let gate = new Promise<void>((r) => (release = r));
  const handle = await serveHttp({
    host: '127.0.0.1',
    port: 0,
    loopback: true,
    tokens: [],
    allowedOrigins: [],
    log: createLogger('silent'),
    newSession: () => {
      const server = new McpServer({ name: 'toy', version: '1' });
      server.registerTool('whoami', { inputSchema: {} }, (_args, extra) => ({ content: [{ type: 'text', text: extra.authInfo?.clientId ?? '(none)' }] }));
      server.registerTool('slow', { inputSchema: { n: z.number() } }, async ({ n }, extra) => {
        const progressToken = extra._meta?.progressToken;
        if (progressToken !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 1, message: 'half way' } });
        await gate;
        return { content: [{ type: 'text', text: `done ${n}` }] };
      });
      // A notification tied to no request: it goes out on the session's standing GET stream.
      server.registerTool('announce', { inputSchema: {} }, () => {
        server.sendToolListChanged();
        return { content: [{ type: 'text', text: 'announced' }] };
      });
      return server;
    },
    ...opts,
  });
  cleanups.push(() => handle.close());
  return {
    handle,
    gate: {
      open: () => {
        release();
        gate = new Promise<void>((r) => (release = r));
      },
    },
  };
}

/** An SDK client over Streamable HTTP, with a bearer token when given. */
async function connect(url: string, token?: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : undefined);
  const client = new Client({ name: 'http-test', version: '1.0.0' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, transport };
}

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
const POST_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { ...POST_HEADERS, ...headers }, body: JSON.stringify(body) });
}

/** A request with a Host header of our choosing (fetch does not let one set it). */
function withHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(INIT);
    const req = httpRequest(url, { method: 'POST', headers: { ...POST_HEADERS, Host: host, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface SseEvent {
  id?: string;
  data: string;
}

/** Reads SSE events from a response body (or on from a reader readEvents returned) until `stop` says so (or the stream ends); leaves the stream open. */
async function readEvents(
  source: ReadableStream<Uint8Array> | ReadableStreamDefaultReader<string>,
  stop: (events: SseEvent[]) => boolean,
): Promise<{ events: SseEvent[]; reader: ReadableStreamDefaultReader<string> }> {
  const reader = source instanceof ReadableStream ? source.pipeThrough(new TextDecoderStream()).getReader() : source;
  const events: SseEvent[] = [];
  let buffer = '';
  while (!stop(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(':')) continue; // keep-alive comment
      const event: SseEvent = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) event.id = line.slice(4);
        if (line.startsWith('data: ')) event.data += line.slice(6);
      }
      events.push(event);
    }
  }
  return { events, reader };
}

/** A session opened with raw requests (no standing GET stream, unlike the SDK client's), with a bearer token when given. */
async function rawSession(url: string, token?: string): Promise<{ id: string; headers: Record<string, string> }> {
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const init = await post(url, INIT, auth);
  expect(init.status).toBe(200);
  const id = init.headers.get('mcp-session-id')!;
  const { reader } = await readEvents(init.body!, (events) => events.some((e) => e.data.includes('"result"')));
  await reader.cancel();
  const headers = { ...auth, 'Mcp-Session-Id': id, 'Mcp-Protocol-Version': '2025-11-25' };
  expect((await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).status).toBe(202);
  return { id, headers };
}

describe('bearer tokens', () => {
  it('no token: 401 with WWW-Authenticate: Bearer, and the SDK client cannot connect', async () => {
    const p = await startPlanexec();
    const res = await post(p.url, INIT);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="planexec"');
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringMatching(/Authorization: Bearer/) }, id: null });
    await expect(connect(p.url)).rejects.toThrow();
    expect(p.handle.sessions().length).toBe(0);
  });

  it('a wrong token: 401 with error="invalid_token"; a token for another scheme too', async () => {
    const p = await startPlanexec();
    const wrong = await post(p.url, INIT, { Authorization: `Bearer ${ALICE}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer realm="planexec", error="invalid_token"/);
    expect((await post(p.url, INIT, { Authorization: `Basic ${ALICE}` })).status).toBe(401);
    await expect(connect(p.url, BOB.slice(0, -1))).rejects.toThrow();
    expect(p.handle.sessions().length).toBe(0);
  });

  it('each token opens sessions under its requester name, which tools read as extra.authInfo.clientId', async () => {
    const { handle } = await startToyServer({ tokens: [{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }] });
    const alice = await connect(handle.url, ALICE);
    const bob = await connect(handle.url, BOB);
    const text = async (c: Client) => ((await c.callTool({ name: 'whoami', arguments: {} })).content as Array<{ text: string }>)[0]!.text;
    expect(await text(alice.client)).toBe('alice');
    expect(await text(bob.client)).toBe('bob');
  });

  it("a session answers only its own requester: another token with its id gets 404", async () => {
    const { handle } = await startToyServer({ tokens: [{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }] });
    const alice = await connect(handle.url, ALICE);
    const sessionId = alice.transport.sessionId!;
    const ping = { jsonrpc: '2.0', id: 9, method: 'ping' };
    const asBob = await post(handle.url, ping, { Authorization: `Bearer ${BOB}`, 'Mcp-Session-Id': sessionId, 'Mcp-Protocol-Version': '2025-11-25' });
    expect(asBob.status).toBe(404);
    const asAlice = await post(handle.url, ping, { Authorization: `Bearer ${ALICE}`, 'Mcp-Session-Id': sessionId, 'Mcp-Protocol-Version': '2025-11-25' });
    expect(asAlice.status).toBe(200);
    await asAlice.body?.cancel();
  });

  it('without tokens configured, tools get no authInfo (as over stdio)', async () => {
    const { handle } = await startToyServer();
    const { client } = await connect(handle.url);
    expect(((await client.callTool({ name: 'whoami', arguments: {} })).content as Array<{ text: string }>)[0]!.text).toBe('(none)');
  });
});

describe('Origin and Host (DNS rebinding protection)', () => {
  it('refuses a foreign Origin with 403, even with a good token, before any session exists', async () => {
    const p = await startPlanexec();
    const res = await post(p.url, INIT, { Authorization: `Bearer ${ALICE}`, Origin: 'http://evil.example.com' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.message).toMatch(/origin http:\/\/evil\.example\.com is not allowed.*PLANEXEC_HTTP_ALLOWED_ORIGINS/);
    // A loopback origin on another port is another local web app's, not this server's.
    expect((await post(p.url, INIT, { Authorization: `Bearer ${ALICE}`, Origin: `http://localhost:${p.handle.port + 1}` })).status).toBe(403);
    expect(p.handle.sessions().length).toBe(0);
  });

  it("accepts the server's own loopback origins and configured ones, with CORS headers and preflight", async () => {
    const p = await startPlanexec({ env: { PLANEXEC_HTTP_ALLOWED_ORIGINS: 'https://tools.example.com' } });
    const own = await post(p.url, INIT, { Authorization: `Bearer ${ALICE}`, Origin: `http://localhost:${p.handle.port}` });
    expect(own.status).toBe(200);
    await own.body?.cancel();
    const configured = await post(p.url, INIT, { Authorization: `Bearer ${ALICE}`, Origin: 'https://tools.example.com' });
    expect(configured.status).toBe(200);
    expect(configured.headers.get('access-control-allow-origin')).toBe('https://tools.example.com');
    expect(configured.headers.get('access-control-expose-headers')).toMatch(/Mcp-Session-Id/);
    await configured.body?.cancel();
    const preflight = await fetch(p.url, { method: 'OPTIONS', headers: { Origin: 'https://tools.example.com', 'Access-Control-Request-Method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect((await fetch(p.url, { method: 'OPTIONS', headers: { Origin: 'https://other.example.com' } })).status).toBe(403);
  });

  it('refuses a Host header that is not a loopback name on a loopback bind', async () => {
    const { handle } = await startToyServer();
    expect(await withHost(handle.url, `evil.example.com:${handle.port}`)).toBe(403);
    expect(await withHost(handle.url, `127.0.0.1:${handle.port}`)).toBe(200);
    expect(await withHost(handle.url, `localhost:${handle.port}`)).toBe(200);
  });

  it('serves MCP at /mcp only', async () => {
    const { handle } = await startToyServer();
    const res = await post(handle.url.replace(/\/mcp$/, '/'), INIT);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.message).toMatch(/serves MCP at \/mcp/);
  });
});

describe('sessions', () => {
  it('DELETE ends a session: its id is then unknown (404)', async () => {
    const { handle } = await startToyServer();
    const { transport } = await connect(handle.url);
    const sessionId = transport.sessionId!;
    expect(handle.sessions().length).toBe(1);
    await transport.terminateSession();
    expect(handle.sessions().length).toBe(0);
    const res = await post(handle.url, { jsonrpc: '2.0', id: 2, method: 'ping' }, { 'Mcp-Session-Id': sessionId, 'Mcp-Protocol-Version': '2025-11-25' });
    expect(res.status).toBe(404);
  });

  it('the timer closes a session left idle', async () => {
    const { handle } = await startToyServer({ idleMs: 30 });
    const init = await post(handle.url, INIT);
    const id = init.headers.get('mcp-session-id')!;
    await (await readEvents(init.body!, (events) => events.some((e) => e.data.includes('"result"')))).reader.cancel();
    await until(() => handle.sessions().length === 0, 'the idle session to be closed');
    expect((await post(handle.url, { jsonrpc: '2.0', id: 2, method: 'ping' }, { 'Mcp-Session-Id': id, 'Mcp-Protocol-Version': '2025-11-25' })).status).toBe(404);
  });

  it('an idle session is one with no request, no open stream and no call in flight; a call in flight keeps its session, which answers on resume', async () => {
    const { handle, gate } = await startToyServer();
    const listening = await connect(handle.url);
    await until(() => handle.sessions().some((s) => s.id === listening.transport.sessionId && s.open === 1), 'the standing GET stream');
    const busy = await rawSession(handle.url);
    const call = await post(handle.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow', arguments: { n: 3 } } }, busy.headers);
    const { events, reader } = await readEvents(call.body!, (seen) => seen.length >= 1);
    await reader.cancel(); // no stream open any more; the call still runs
    const idle = await rawSession(handle.url);
    const info = (id: string) => handle.sessions().find((s) => s.id === id);
    await until(() => info(busy.id)?.open === 0 && info(idle.id)?.open === 0, 'the streams to be closed');
    expect(info(busy.id)!.inFlight).toBe(1);

    expect(handle.closeIdle(0)).toBe(1);
    expect(handle.sessions().map((s) => s.id).sort()).toEqual([listening.transport.sessionId, busy.id].sort());
    expect((await post(handle.url, { jsonrpc: '2.0', id: 3, method: 'ping' }, idle.headers)).status).toBe(404);
    await listening.client.ping();

    gate.open();
    const resumed = await fetch(handle.url, { method: 'GET', headers: { ...busy.headers, Accept: 'text/event-stream', 'Last-Event-ID': events[0]!.id! } });
    const rest = await readEvents(resumed.body!, (seen) => seen.some((e) => e.data.includes('"result"')));
    await rest.reader.cancel();
    expect(rest.events.at(-1)!.data).toContain('done 3');
  });

  it('past maxSessions, the longest idle session makes room; when none is idle, 503', async () => {
    const { handle } = await startToyServer({ maxSessions: 2 });
    const listening = () => handle.sessions().filter((s) => s.open > 0).length;
    const first = await rawSession(handle.url);
    const second = await connect(handle.url);
    await until(() => listening() === 1, "the second client's stream");
    const third = await connect(handle.url);
    expect(handle.sessions().map((s) => s.id).sort()).toEqual([second.transport.sessionId, third.transport.sessionId].sort());
    expect((await post(handle.url, { jsonrpc: '2.0', id: 2, method: 'ping' }, first.headers)).status).toBe(404);
    await until(() => listening() === 2, "the third client's stream");
    const refused = await post(handle.url, INIT);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
  });
});

describe('sessions per requester', () => {
  const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
  const status = async (url: string, headers: Record<string, string>) => {
    const res = await post(url, ping, headers);
    await res.body?.cancel();
    return res.status;
  };
  const held = (handle: HttpHandle, requester: string) => handle.sessions().filter((s) => s.requester === requester).length;

  it("a requester at its share makes room by closing its own longest idle session, never another requester's", async () => {
    // Two tokens, 8 sessions: a share of 4 each.
    const { handle } = await startToyServer({ maxSessions: 8, tokens: [{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }] });
    const alice = await rawSession(handle.url, ALICE);
    const bobs = [];
    for (let i = 0; i < 6; i++) bobs.push(await rawSession(handle.url, BOB));
    expect(held(handle, 'bob')).toBe(4);
    expect(await status(handle.url, bobs[0]!.headers)).toBe(404);
    expect(await status(handle.url, bobs[1]!.headers)).toBe(404);
    expect(await status(handle.url, bobs[5]!.headers)).toBe(200);
    expect(await status(handle.url, alice.headers)).toBe(200);
  });

  it('a requester whose sessions are all busy at its share gets 503 with Retry-After, and another requester still gets a session', async () => {
    const { handle } = await startToyServer({ maxSessions: 8, tokens: [{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }] });
    const alice = await rawSession(handle.url, ALICE);
    for (let i = 0; i < 4; i++) await connect(handle.url, BOB); // each holds its standing GET stream
    await until(() => handle.sessions().filter((s) => s.requester === 'bob' && s.open > 0).length === 4, "bob's streams");
    const refused = await post(handle.url, INIT, { Authorization: `Bearer ${BOB}` });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(((await refused.json()) as any).error.message).toMatch(/You hold 4 sessions, the most one requester may hold here, and none is idle/);
    expect(await status(handle.url, alice.headers)).toBe(200);
    const again = await connect(handle.url, ALICE);
    await again.client.ping();
    expect(held(handle, 'alice')).toBe(2);
  });

  it('on a full server, the idle session closed to make room is one of the requester holding the most', async () => {
    // Three tokens, 8 sessions: a share of 4 each (the floor), so the shares overfill the server.
    const CAROL = 'carol-00112233445566778899aabbcc';
    const { handle } = await startToyServer({ maxSessions: 8, tokens: [{ name: 'alice', token: ALICE }, { name: 'bob', token: BOB }, { name: 'carol', token: CAROL }] });
    const carols = [];
    for (let i = 0; i < 3; i++) carols.push(await rawSession(handle.url, CAROL)); // idle longest
    const bobs = [];
    for (let i = 0; i < 4; i++) bobs.push(await rawSession(handle.url, BOB));
    await rawSession(handle.url, ALICE);
    expect(handle.sessions().length).toBe(8);
    await rawSession(handle.url, ALICE);
    expect([held(handle, 'alice'), held(handle, 'bob'), held(handle, 'carol')]).toEqual([2, 3, 3]);
    expect(await status(handle.url, bobs[0]!.headers)).toBe(404);
    expect(await status(handle.url, carols[0]!.headers)).toBe(200);
  });
});

/** Raw TCP connections that send part of a request and then nothing (slowloris), with what each got back. */
function halfOpen(port: number, count: number, partial: string): Array<{ socket: Socket; received: string; closed: boolean }> {
  const all = Array.from({ length: count }, () => {
    const socket = tcpConnect(port, '127.0.0.1');
    const entry = { socket, received: '', closed: false };
    socket.on('data', (chunk: Buffer) => (entry.received += chunk.toString('latin1')));
    socket.on('error', () => undefined); // a connection the server resets
    socket.on('close', () => (entry.closed = true));
    socket.write(partial);
    return entry;
  });
  cleanups.push(async () => {
    for (const e of all) e.socket.destroy();
  });
  return all;
}

describe('connection bounds (slowloris)', () => {
  const tokens = [{ name: 'alice', token: ALICE }];
  const partialHeaders = (port: number) => `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n`;

  it('half-sent requests beyond the connection cap are closed, the longest waiting first, and a host with a token is answered while the rest still wait', async () => {
    // Timeouts far beyond the test: only the cap can close these connections.
    const { handle } = await startToyServer({ tokens, limits: { maxConnections: 8, headersTimeoutMs: 120_000, requestTimeoutMs: 120_000 } });
    const sockets = halfOpen(handle.port, 20, partialHeaders(handle.port));
    await until(() => sockets.filter((s) => s.closed).length >= 20 - 8, 'the connections past the cap to be closed');
    expect(handle.connections()).toBeLessThanOrEqual(8);
    expect(sockets.slice(0, 4).every((s) => s.closed)).toBe(true); // the longest waiting went first

    const { client } = await connect(handle.url, ALICE);
    expect(((await client.callTool({ name: 'whoami', arguments: {} })).content as Array<{ text: string }>)[0]!.text).toBe('alice');
    expect(handle.connections()).toBeLessThanOrEqual(8);
    expect(sockets.some((s) => !s.closed)).toBe(true); // answered before any timeout cleared the others
    expect(sockets.every((s) => s.received === '')).toBe(true); // closed for room, not answered
  });

  it('a request whose headers do not arrive in time gets 408 and its connection closed; then a host with a token is answered', async () => {
    const { handle } = await startToyServer({ tokens, limits: { maxConnections: 8, headersTimeoutMs: 200, requestTimeoutMs: 400, checkIntervalMs: 50 } });
    const sockets = halfOpen(handle.port, 6, partialHeaders(handle.port));
    await until(() => sockets.every((s) => s.closed), 'the header timeout to close the half-sent requests');
    expect(sockets.map((s) => s.received.split('\r\n')[0])).toEqual(Array(6).fill('HTTP/1.1 408 Request Timeout'));
    await until(() => handle.connections() === 0, 'the server to let go of them');
    const { client } = await connect(handle.url, ALICE);
    await client.ping();
  });

  it('a request body that does not arrive in time gets 408; a request without a token gets 401 and its connection closed, not kept alive', async () => {
    const { handle } = await startToyServer({ tokens, limits: { headersTimeoutMs: 200, requestTimeoutMs: 400, checkIntervalMs: 50, keepAliveTimeoutMs: 120_000 } });
    const head = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${handle.port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n`;
    const [slowBody] = halfOpen(handle.port, 1, `${head}Content-Length: 1000\r\nAuthorization: Bearer ${ALICE}\r\n\r\n{"jsonrpc":`);
    const [anonymous] = halfOpen(handle.port, 1, `${head}Content-Length: 2\r\n\r\n{}`);
    await until(() => slowBody!.closed && anonymous!.closed, 'both connections to be closed');
    expect(slowBody!.received.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(anonymous!.received.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(anonymous!.received).toMatch(/\r\nConnection: close\r\n/i);
  });

  it('SSE streams and a long call outlive the header and request timeouts (they bound receiving a request, not answering it)', async () => {
    const { handle, gate } = await startToyServer({ tokens, limits: { headersTimeoutMs: 100, requestTimeoutMs: 200, checkIntervalMs: 20 } });
    const { headers } = await rawSession(handle.url, ALICE);
    const standing = await fetch(handle.url, { method: 'GET', headers: { ...headers, Accept: 'text/event-stream' } });
    expect(standing.status).toBe(200);
    const call = await post(handle.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow', arguments: { n: 5 }, _meta: { progressToken: 'p' } } }, headers);
    const started = await readEvents(call.body!, (seen) => seen.some((e) => e.data.includes('notifications/progress')));
    // Many times the request timeout, which is checked every 20 ms.
    await new Promise((r) => setTimeout(r, 1_500));
    gate.open();
    const answered = await readEvents(started.reader, (seen) => seen.some((e) => e.data.includes('"result"')));
    await answered.reader.cancel();
    expect(answered.events.at(-1)!.data).toContain('done 5');

    const announce = await post(handle.url, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'announce', arguments: {} } }, headers);
    await (await readEvents(announce.body!, (seen) => seen.some((e) => e.data.includes('"result"')))).reader.cancel();
    const pushed = await readEvents(standing.body!, (seen) => seen.some((e) => e.data.includes('notifications/tools/list_changed')));
    await pushed.reader.cancel();
    expect(pushed.events.some((e) => e.data.includes('notifications/tools/list_changed'))).toBe(true);
  });
});

describe('resumable SSE', () => {
  it('a client whose stream broke mid-call reconnects with Last-Event-ID and gets the rest, response included', async () => {
    const { handle, gate } = await startToyServer();
    const { headers } = await rawSession(handle.url);

    const call = await post(handle.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow', arguments: { n: 7 }, _meta: { progressToken: 'p' } } }, headers);
    const { events, reader } = await readEvents(call.body!, (seen) => seen.some((e) => e.data.includes('notifications/progress')));
    expect(events[0]).toEqual({ id: expect.any(String), data: '' }); // the priming event
    const last = events.at(-1)!;
    expect(last.id).toEqual(expect.any(String));
    await reader.cancel(); // the connection breaks
    gate.open(); // the answer is produced while nobody listens

    const resumed = await fetch(handle.url, { method: 'GET', headers: { ...headers, Accept: 'text/event-stream', 'Last-Event-ID': last.id! } });
    expect(resumed.status).toBe(200);
    const rest = await readEvents(resumed.body!, (seen) => seen.some((e) => e.data.includes('"result"')));
    await rest.reader.cancel();
    const answer = JSON.parse(rest.events.find((e) => e.data.includes('"result"'))!.data);
    expect(answer).toMatchObject({ id: 2, result: { content: [{ type: 'text', text: 'done 7' }] } });
    expect(rest.events.some((e) => e.data.includes('notifications/progress'))).toBe(false); // nothing twice
  });

  it('an unknown Last-Event-ID is refused, not answered with a gap', async () => {
    const { handle } = await startToyServer();
    const { transport } = await connect(handle.url);
    const res = await fetch(handle.url, {
      method: 'GET',
      headers: { 'Mcp-Session-Id': transport.sessionId!, 'Mcp-Protocol-Version': '2025-11-25', Accept: 'text/event-stream', 'Last-Event-ID': '999.nope' },
    });
    expect(res.status).toBe(400);
  });
});

describe("planexec's tools over Streamable HTTP", () => {
  it('run_workflow runs a whole workflow with progress notifications', async () => {
    const p = await startPlanexec({ responder: workflowResponder(THREE_WAVES) });
    const { client } = await connect(p.url, ALICE);
    const progress: Progress[] = [];
    const result = await client.callTool({ name: 'run_workflow', arguments: { request: 'Build it in three waves' } }, undefined, { onprogress: (e) => progress.push(e) });
    expect(result.isError).toBeFalsy();
    const status = result.structuredContent as any;
    expect(status.phase).toBe('completed');
    expect(status.subtasks.map((s: any) => s.status)).toEqual(Array(6).fill('approved'));
    expect(p.standin.requests.filter((r) => r.schemaName === null).map(subtaskOf).sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'c1']);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.map((e) => e.progress)).toEqual([...progress.map((e) => e.progress)].sort((a, b) => a - b));
    expect(progress.at(-1)!.message).toMatch(/6 of 6 done/);
  });

  it('two sessions at once each run their own workflow to the end', async () => {
    const p = await startPlanexec({ responder: workflowResponder(THREE_WAVES, { executorDelayMs: 20 }) });
    const alice = await connect(p.url, ALICE);
    const bob = await connect(p.url, BOB);
    expect(p.handle.sessions().length).toBe(2);
    const [a, b] = await Promise.all([
      alice.client.callTool({ name: 'run_workflow', arguments: { request: 'Alice builds it' } }),
      bob.client.callTool({ name: 'run_workflow', arguments: { request: 'Bob builds it' } }),
    ]);
    const [sa, sb] = [a.structuredContent as any, b.structuredContent as any];
    expect([sa.phase, sb.phase]).toEqual(['completed', 'completed']);
    expect(sa.workflow_id).not.toBe(sb.workflow_id);
    expect(p.standin.requests.filter((r) => r.schemaName === 'plan')).toHaveLength(2);
    // Each sees both in the one ledger.
    const listed = (await alice.client.callTool({ name: 'workflow_status', arguments: {} })).structuredContent as any;
    expect(JSON.stringify(listed)).toContain(sb.workflow_id);
  });

  it("a client's cancellation stops the run and aborts its model calls", async () => {
    const p = await startPlanexec({ responder: workflowResponder(THREE_WAVES, { executor: () => ({ hang: true }) }) });
    const { client } = await connect(p.url, ALICE);
    const controller = new AbortController();
    const run = client.callTool({ name: 'run_workflow', arguments: { request: 'Build it' } }, undefined, { signal: controller.signal });
    const hanging = () => p.standin.requests.filter((r) => r.schemaName === null);
    await until(() => hanging().length === 3, 'the first wave in flight');
    controller.abort();
    await expect(run).rejects.toThrow();
    const workflow_id = (await p.composed.store.workflows.list(1))[0]!.workflow.id;
    await until(async () => (await p.composed.store.workflows.get(workflow_id))!.phase === 'cancelled', 'the workflow to be cancelled');
    await until(() => hanging().every((r) => r.aborted), 'the model calls aborted at the provider');
    expect((await p.composed.store.workflows.listSubtasks(workflow_id)).filter((s) => s.status === 'running')).toEqual([]);
  });

  it('an MCP task outlives the session that made it: another session cancels it', async () => {
    const p = await startPlanexec({ responder: workflowResponder(THREE_WAVES, { executor: () => ({ hang: true }) }) });
    const first = await connect(p.url, ALICE);
    const created = await first.client.request({ method: 'tools/call', params: { name: 'run_workflow', arguments: { request: 'Build it' }, task: { ttl: 600_000 } } }, CreateTaskResultSchema);
    const hanging = () => p.standin.requests.filter((r) => r.schemaName === null);
    await until(() => hanging().length === 3, 'the first wave in flight');
    await first.transport.terminateSession();
    expect(p.handle.sessions().length).toBe(0);
    expect(hanging().some((r) => r.aborted)).toBe(false);

    const second = await connect(p.url, BOB);
    expect((await second.client.experimental.tasks.getTask(created.task.taskId)).status).toBe('working');
    await second.client.experimental.tasks.cancelTask(created.task.taskId);
    await until(() => hanging().every((r) => r.aborted), 'the model calls aborted at the provider');
    const workflow_id = (await p.composed.store.tasks.get(created.task.taskId))!.workflowId!;
    await until(async () => (await p.composed.store.workflows.get(workflow_id))!.phase === 'cancelled', 'the workflow to be cancelled');
    expect((await second.client.experimental.tasks.getTask(created.task.taskId)).status).toBe('cancelled');
  });
});

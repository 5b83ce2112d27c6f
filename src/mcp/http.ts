// MCP over Streamable HTTP (MCP spec 2025-11-25, "Transports"), for a team sharing one planexec:
// `planexec --http HOST:PORT` serves /mcp. Each MCP session gets its own McpServer (its own client
// roots, progress and elicitation) over the process's one core, database and runtime. In front of
// the SDK's transport, in this order:
//   - the path: only /mcp;
//   - the Host header, on a loopback bind: a loopback name only (DNS rebinding: a page on
//     evil.example resolving to 127.0.0.1 sends Host: evil.example);
//   - the Origin header, when present: the server's own loopback origins and the configured ones,
//     else 403 (browsers always send it on cross-origin requests; hosts such as Claude Code do not);
//   - the bearer token (PLANEXEC_HTTP_TOKEN), when any is configured: compared in constant time,
//     401 with WWW-Authenticate: Bearer otherwise (RFC 6750 §3). The request's requester name goes
//     to the tools as `extra.authInfo.clientId`, and a session only answers its own requester.
// Sessions end on DELETE, or when idle (no request, no open stream, no call in flight) for `idleMs`.
// Each requester (token name) may hold a share of `maxSessions` (requesterShare): one requester
// cannot take every session, evicting the others' or leaving them only 503s. A requester at its
// share makes room by closing its own longest idle session; a full server by closing an idle
// session of the requester holding the most. A session's SSE events are kept (bounded,
// event-store.ts) so a client can resume a broken stream with Last-Event-ID.
// Connections are bounded before any authentication can be (slowloris: half-sent requests holding
// file descriptors the database and git need too): at most `maxConnections` at once, a request's
// headers within `headersTimeoutMs`, all of it within `requestTimeoutMs` (Node's requestTimeout
// covers receiving the request only, never a response: SSE streams and long calls are unaffected),
// and at the cap the connection waiting longest for a request is closed to make room.
import { randomUUID, createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isJSONRPCErrorResponse, isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResultResponse, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import { BoundedEventStore, EVENT_STORE_LIMITS } from './event-store.js';

/** The one path MCP is served at. */
const MCP_PATH = '/mcp';
/** A session with no request, no open stream and no call in flight for this long is closed (ms). */
const DEFAULT_IDLE_MS = 60 * 60_000;
/** Sessions held at once; past it, an idle one is closed to make room (else 503). See requesterShare for each requester's part. */
export const DEFAULT_MAX_SESSIONS = 64;
/** The fewest sessions a requester may hold, however many tokens share the server (requesterShare). */
export const MIN_REQUESTER_SHARE = 4;
/**
 * Bounds on the TCP connections and on how long a request may take to arrive (ms). The figures are
 * ours: 256 connections leave half of a 512-descriptor limit to SQLite, git and checks; 10 s for the
 * headers and 30 s for a whole request (MCP messages are small JSON) instead of Node's 60 s and
 * 300 s; 5 s keep-alive is Node's default, which clients such as undici follow (Keep-Alive: timeout);
 * the timeouts are checked every second instead of Node's 30 s, so they hold to about a second.
 */
const CONNECTION_LIMITS = {
  maxConnections: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
} as const;
/** How CONNECTION_LIMITS may be given (tests shorten them); requestTimeoutMs must be at least headersTimeoutMs. */
export type ConnectionLimits = { -readonly [K in keyof typeof CONNECTION_LIMITS]: number };
/** The SSE `retry` field: how soon a client whose stream broke should reconnect (ms). */
const SSE_RETRY_MS = 2_000;

/** What serveHttp needs (built by the composition root from `--http HOST:PORT` / PLANEXEC_HTTP, PLANEXEC_HTTP_TOKEN, PLANEXEC_HTTP_ALLOWED_ORIGINS). */
export interface HttpServeOptions {
  /** Address to listen on (IPv6 without brackets) and port (0: any free port). */
  host: string;
  port: number;
  /** The address is a loopback one: Host headers must then name a loopback host. */
  loopback: boolean;
  /** Accepted bearer tokens and their requester names; empty: no token is asked. */
  tokens: readonly { name: string; readonly token: string }[];
  /** Browser origins allowed besides the server's own loopback ones (scheme://host[:port]). */
  allowedOrigins: readonly string[];
  log: Logger;
  /** A new MCP server for a new session (createServer in server.ts, with the process's shared scope). */
  newSession(): McpServer;
  /** ms a session may stay idle before it is closed; default DEFAULT_IDLE_MS. */
  idleMs?: number;
  /** Sessions held at once; default DEFAULT_MAX_SESSIONS. */
  maxSessions?: number;
  /** Bounds of each session's kept SSE events (count, bytes); default EVENT_STORE_LIMITS. */
  eventStore?: { maxEvents: number; maxBytes: number };
  /** Connection bounds and timeouts; each defaults to CONNECTION_LIMITS'. */
  limits?: Partial<ConnectionLimits>;
}

/** A running HTTP server (serveHttp): its address, its sessions, and how to stop it. */
export interface HttpHandle {
  /** http://host:port/mcp, with the port actually bound. */
  url: string;
  port: number;
  /** The sessions open now. */
  sessions(): SessionInfo[];
  /** TCP connections open now (at most `limits.maxConnections`). */
  connections(): number;
  /** Closes the sessions idle for more than `idleMs` (default: the configured idle time), as the timer does; returns how many. */
  closeIdle(idleMs?: number): number;
  /** New requests are answered 503 from now on (the process is stopping). */
  stopAccepting(): void;
  /** Closes every session (their in-flight calls are aborted by the SDK), then the listener and its connections. */
  close(): Promise<void>;
}

/** One session as sessions() shows it. */
export interface SessionInfo {
  id: string;
  /** The requester name of its token; null when the server asks no token. */
  requester: string | null;
  /** HTTP requests of the session still open (its standing GET stream, calls' SSE streams). */
  open: number;
  /** JSON-RPC requests received and not yet answered. */
  inFlight: number;
  /** ms since its last request, response or stream end. */
  idleMs: number;
}

interface Session {
  id: string;
  server: McpServer;
  transport: StreamableHTTPServerTransport;
  requester: string | null;
  /** HTTP requests on this session still open (an SSE stream stays open as long as the client listens). */
  open: number;
  /** JSON-RPC requests received and not yet answered. */
  pending: Set<RequestId>;
  lastSeen: number;
}

/**
 * Listens on `host:port` and serves MCP at /mcp until close(). Resolves once listening; rejects
 * when the address cannot be bound (EADDRINUSE, EACCES, EADDRNOTAVAIL: the error's code says which),
 * and with ERR_OUT_OF_RANGE when `limits.headersTimeoutMs` exceeds `limits.requestTimeoutMs`.
 */
export async function serveHttp(opts: HttpServeOptions): Promise<HttpHandle> {
  const { log } = opts;
  const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  const maxSessions = opts.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const sessions = new Map<string, Session>();
  const tokens = opts.tokens.map((t) => ({ name: t.name, token: t.token, digest: sha256(t.token) }));
  const share = requesterShare(maxSessions, new Set(tokens.map((t) => t.name)).size);
  const limits: ConnectionLimits = { ...CONNECTION_LIMITS, ...opts.limits };
  let accepting = true;
  let origins = new Set<string>();

  const listener = createHttpServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    (req, res) => {
      busy(req.socket, res);
      handle(req, res).catch((error: unknown) => {
        log.error({ err: error }, 'an HTTP request failed');
        if (!res.headersSent) reply(res, 500, 'Internal error', -32603);
        else res.end();
      });
    },
  );
  // Past the cap, Node closes a new connection as soon as it is accepted ('drop').
  listener.maxConnections = limits.maxConnections;

  // Connections with no request in progress (not yet sent, half sent, or kept alive between two),
  // the longest waiting first: the ones closed to make room. A connection carrying a request or an
  // SSE stream is never closed for room.
  const waiting = new Set<Socket>();
  const connections = new Set<Socket>();
  const warned = { drop: 0, shed: 0 };
  listener.on('connection', (socket: Socket) => {
    connections.add(socket);
    waiting.add(socket);
    socket.once('close', () => {
      connections.delete(socket);
      waiting.delete(socket);
    });
    // This one took the last place: close the longest waiting one (its descriptor at once, as
    // Node's count), so the next connection is not dropped while this one has not yet sent its request.
    if (connections.size < limits.maxConnections) return;
    for (const oldest of waiting) {
      if (oldest === socket) continue;
      connections.delete(oldest);
      waiting.delete(oldest);
      oldest.destroy();
      warnOnce('shed', { max: limits.maxConnections }, 'at the connection cap, closed the connection waiting longest for a request (a client opening connections and sending no request?)');
      return;
    }
  });
  listener.on('drop', () => warnOnce('drop', { max: limits.maxConnections }, 'refused a connection: the most connections allowed are open, carrying requests or streams'));

  function busy(socket: Socket, res: ServerResponse): void {
    waiting.delete(socket);
    res.once('close', () => {
      if (!socket.destroyed) waiting.add(socket);
    });
  }

  /** Logs a warning at most once a minute per kind: a flood of connections is one event, not thousands of lines. */
  function warnOnce(kind: keyof typeof warned, fields: object, message: string): void {
    const now = Date.now();
    if (now - warned[kind] < 60_000) return;
    warned[kind] = now;
    log.warn(fields, message);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== MCP_PATH) return reply(res, 404, `Not found: planexec serves MCP at ${MCP_PATH}.`);
    if (!accepting) return reply(res, 503, 'planexec is stopping.', -32000, { 'Retry-After': '5' });
    if (opts.loopback && !isLoopbackHostHeader(req.headers.host)) {
      log.warn({ host: req.headers.host ?? null }, 'refused a request whose Host header is not a loopback name (DNS rebinding protection)');
      return reply(res, 403, `Forbidden: Host ${req.headers.host ?? '(none)'} is not this server's.`, -32000, CLOSE);
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has(origin)) {
        log.warn({ origin }, 'refused a request from an origin that is not allowed (add it to PLANEXEC_HTTP_ALLOWED_ORIGINS if it is yours)');
        return reply(res, 403, `Forbidden: origin ${origin} is not allowed. The server's operator can add it to PLANEXEC_HTTP_ALLOWED_ORIGINS.`, -32000, CLOSE);
      }
      corsHeaders(res, origin);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'Access-Control-Allow-Methods': 'GET, POST, DELETE',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID',
          'Access-Control-Max-Age': '600',
        });
        return void res.end();
      }
    }
    let requester: string | null = null;
    if (tokens.length > 0) {
      const auth = authenticate(req.headers.authorization);
      if (auth === 'missing') {
        return reply(res, 401, 'Unauthorized: send Authorization: Bearer <token> (the PLANEXEC_HTTP_TOKEN the server was given).', -32001, {
          'WWW-Authenticate': 'Bearer realm="planexec"',
          ...CLOSE,
        });
      }
      if (auth === null) {
        log.warn({ remote: req.socket.remoteAddress }, 'refused a request with a wrong bearer token');
        return reply(res, 401, 'Unauthorized: the bearer token is not one this server accepts.', -32001, {
          'WWW-Authenticate': 'Bearer realm="planexec", error="invalid_token", error_description="The token is not valid"',
          ...CLOSE,
        });
      }
      requester = auth.name;
      // The SDK hands req.auth to every request handler as extra.authInfo.
      (req as IncomingMessage & { auth?: AuthInfo }).auth = { token: auth.token, clientId: auth.name, scopes: [] };
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      // Another requester's session is not found either: a session id alone is no credential.
      if (!session || session.requester !== requester) return reply(res, 404, 'Session not found: start a new session (initialize).', -32001);
      return serve(session, req, res);
    }
    if (req.method !== 'POST') return reply(res, 400, 'Bad Request: Mcp-Session-Id header is required (start a session with a POST of initialize).');
    return open(req, res, requester);
  }

  /** A POST without a session: an initialize request starts one (the SDK answers anything else 400). */
  async function open(req: IncomingMessage, res: ServerResponse, requester: string | null): Promise<void> {
    const refusal = makeRoom(requester);
    if (refusal) return reply(res, 503, refusal, -32000, { 'Retry-After': '30' });
    let session: Session | null = null;
    // Listened to before the SDK answers: for an SSE response, handleRequest returns only once the stream has ended.
    let answered = false;
    res.once('close', () => {
      answered = true;
      if (session) settle(session);
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new BoundedEventStore(opts.eventStore ?? EVENT_STORE_LIMITS),
      retryInterval: SSE_RETRY_MS,
      onsessioninitialized: (id) => {
        session = { id, server, transport, requester, open: answered ? 0 : 1, pending: new Set(), lastSeen: Date.now() };
        sessions.set(id, session);
        log.info({ session: id, requester }, 'MCP session opened');
      },
    });
    const server = opts.newSession();
    watch(transport, server, () => session);
    await server.connect(transport);
    try {
      await transport.handleRequest(req, res);
    } finally {
      // Not an initialize request: the SDK answered 400, and this server has no session to serve.
      if (!session) await server.close();
    }
  }

  async function serve(session: Session, req: IncomingMessage, res: ServerResponse): Promise<void> {
    session.open += 1;
    session.lastSeen = Date.now();
    res.once('close', () => settle(session));
    if (req.method === 'DELETE') log.info({ session: session.id, requester: session.requester }, 'MCP session ended by the client');
    await session.transport.handleRequest(req, res);
  }

  /** One HTTP request of the session has ended (answered, or its stream closed). */
  function settle(session: Session): void {
    session.open -= 1;
    session.lastSeen = Date.now();
  }

  /**
   * Keeps a session's bookkeeping: requests in flight (a call is in flight from its request until
   * its response, or its cancellation), and the session's end however it comes. Set before connect:
   * the SDK's Protocol chains its own handlers after these.
   */
  function watch(transport: StreamableHTTPServerTransport, server: McpServer, current: () => Session | null): void {
    let transportError: Error | null = null;
    transport.onmessage = (message) => {
      const s = current();
      if (!s) return;
      s.lastSeen = Date.now();
      if (isJSONRPCRequest(message)) s.pending.add(message.id);
      else if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
        const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
        if (id !== undefined) s.pending.delete(id);
      }
    };
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      const s = current();
      if (s && (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message))) {
        if (message.id !== undefined) s.pending.delete(message.id);
        s.lastSeen = Date.now();
      }
      return send(message, options);
    };
    transport.onerror = (error) => {
      // The transport's own complaints are about a client's request (406, 404, 400): not ours to warn about.
      transportError = error;
      log.debug({ err: error }, 'MCP over HTTP: request refused by the transport');
    };
    transport.onclose = () => {
      const s = current();
      if (s && sessions.get(s.id) === s) sessions.delete(s.id);
    };
    server.server.onerror = (error) => {
      if (error !== transportError) log.warn({ err: error }, 'MCP protocol error');
    };
  }

  /**
   * Room for one more session of `requester`: at its share, its own longest idle session is closed;
   * on a full server, the longest idle session of the requester holding the most. Returns null
   * when there is room, else the 503's message (every session that could go is busy).
   */
  function makeRoom(requester: string | null): string | null {
    const held = new Map<string | null, number>();
    for (const s of sessions.values()) held.set(s.requester, (held.get(s.requester) ?? 0) + 1);
    const own = held.get(requester) ?? 0;
    const idle = [...sessions.values()].filter((s) => s.open === 0 && s.pending.size === 0);
    let victim: Session | undefined;
    if (own >= share) {
      victim = idle.filter((s) => s.requester === requester).sort((a, b) => a.lastSeen - b.lastSeen)[0];
      if (!victim) {
        log.warn({ requester, sessions: own }, 'refused a new session: the requester holds its share of sessions and every one is busy');
        return `You hold ${own} sessions, the most one requester may hold here, and none is idle: end one (DELETE ${MCP_PATH}) or try again shortly.`;
      }
    } else if (sessions.size >= maxSessions) {
      victim = idle.sort((a, b) => held.get(b.requester)! - held.get(a.requester)! || a.lastSeen - b.lastSeen)[0];
      if (!victim) {
        log.warn({ requester, sessions: sessions.size }, 'refused a new session: every session is busy');
        return `Too many sessions (${maxSessions}) are busy; try again shortly.`;
      }
    }
    if (victim) {
      log.info({ session: victim.id, requester: victim.requester, held: held.get(victim.requester), for: requester, sessions: sessions.size }, 'closed an idle MCP session to make room for a new one');
      end(victim);
    }
    return null;
  }

  function end(session: Session): void {
    sessions.delete(session.id);
    session.server.close().catch((error: unknown) => log.warn({ err: error }, 'closing an MCP session failed'));
  }

  /** Closes the sessions with no open request, no call in flight, and no activity for more than `after` ms. */
  function closeIdle(after: number): number {
    const now = Date.now();
    let closed = 0;
    for (const s of [...sessions.values()]) {
      if (s.open === 0 && s.pending.size === 0 && now - s.lastSeen >= after) {
        log.info({ session: s.id, requester: s.requester, idle_s: Math.round((now - s.lastSeen) / 1000) }, 'closed an idle MCP session');
        end(s);
        closed += 1;
      }
    }
    return closed;
  }
  const sweep = setInterval(() => closeIdle(idleMs), Math.max(10, Math.min(60_000, Math.floor(idleMs / 2))));
  sweep.unref();

  function authenticate(header: string | undefined): (typeof tokens)[number] | null | 'missing' {
    const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header ?? '');
    if (!match) return 'missing';
    // Equal-length digests, every token compared: the time taken says nothing about any token.
    const digest = sha256(match[1]!);
    let found: (typeof tokens)[number] | null = null;
    for (const t of tokens) {
      if (timingSafeEqual(digest, t.digest) && found === null) found = t;
    }
    return found;
  }

  function corsHeaders(res: ServerResponse, origin: string): void {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'Mcp-Session-Id, WWW-Authenticate');
  }

  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.port, opts.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', (error) => log.error({ err: error }, 'the HTTP server failed'));
  const port = (listener.address() as AddressInfo).port;
  const shown = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  origins = new Set([
    ...['localhost', '127.0.0.1', '[::1]', shown].map((h) => `http://${h}:${port}`),
    ...opts.allowedOrigins,
  ]);

  return {
    url: `http://${shown}:${port}${MCP_PATH}`,
    port,
    sessions: () => [...sessions.values()].map((s) => ({ id: s.id, requester: s.requester, open: s.open, inFlight: s.pending.size, idleMs: Date.now() - s.lastSeen })),
    connections: () => connections.size,
    closeIdle: (after = idleMs) => closeIdle(after),
    stopAccepting: () => {
      accepting = false;
    },
    close: async () => {
      accepting = false;
      clearInterval(sweep);
      const all = [...sessions.values()];
      sessions.clear();
      if (all.length) log.info({ sessions: all.length }, 'closing the MCP sessions');
      await Promise.allSettled(all.map((s) => s.server.close()));
      await closeListener(listener);
    },
  };
}

/** Stops listening and ends every connection (SSE streams included), resolved once closed. */
function closeListener(listener: Server): Promise<void> {
  return new Promise((resolve) => {
    listener.close(() => resolve());
    listener.closeAllConnections();
  });
}

/**
 * The most sessions one requester may hold at once: max(MIN_REQUESTER_SHARE, ⌊maxSessions /
 * requesters⌋), never more than maxSessions; all of them with one requester or none (no token).
 * Rounded down so that, with requesters ≤ maxSessions / MIN_REQUESTER_SHARE, the shares add up to
 * at most maxSessions: a requester below its share then always finds room, however busy the
 * others' sessions are. With more requesters, a full server closes an idle session of the one
 * holding the most (else 503).
 */
export function requesterShare(maxSessions: number, requesters: number): number {
  if (requesters <= 1) return maxSessions;
  return Math.min(maxSessions, Math.max(MIN_REQUESTER_SHARE, Math.floor(maxSessions / requesters)));
}

/** Ends the connection after a refusal before authentication: a client without a token keeps no connection open. */
const CLOSE = { Connection: 'close' };

/** A JSON-RPC error body with an HTTP status (the shape the SDK's transport answers with). */
function reply(res: ServerResponse, status: number, message: string, code = -32000, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The Host header names a loopback host (any port): localhost, 127.0.0.0/8, [::1]. */
function isLoopbackHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

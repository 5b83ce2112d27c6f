// Builds a real planexec for tests: SQLite in a temp folder, a workspace root, the real OpenAI
// adapter talking to the local stand-in, and an MCP Client connected over InMemoryTransport.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig, type Config } from '../../src/config.js';
import { compose, type Composed, type ModelOverrides } from '../../src/main.js';
import { createServer } from '../../src/mcp/server.js';
import { createLogger, type Logger } from '../../src/log.js';
import { startOpenAIStandin, type OpenAIStandin, type StandinOptions } from './openai-standin.js';

export interface Harness extends Composed {
  config: Config;
  standin: OpenAIStandin;
  client: Client;
  root: string;
  dir: string;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  /** structuredContent of a successful call; throws with the error text otherwise. */
  ok<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  writeFile(path: string, content: string | Buffer): void;
  /** Every row of every table, to compare before and after a call that must change nothing. */
  snapshot(): Record<string, unknown[]>;
  /**
   * Watches the database file from a second connection (SQLite's `PRAGMA data_version`): `wrote()`
   * is true once any transaction that changed a page has committed since the watch began, even one
   * that changed something and changed it back (a lock taken and released). Start it after anything
   * that may still be settling; heartbeats write too (tests that watch set PLANEXEC_LEASE_MS high).
   */
  watchWrites(): { wrote(): boolean; close(): void };
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  standin?: StandinOptions;
  /** Reuse a stand-in (and keep it open on close). */
  sharedStandin?: OpenAIStandin;
  clientCapabilities?: ConstructorParameters<typeof Client>[1];
  /** Reuse this folder (its database and workspace), as a restarted server would; it is kept on close. */
  dir?: string;
  /** The working folder the config is resolved from (default: the harness's temp folder). */
  cwd?: string;
  /** Called with the client before it connects (e.g. to answer roots/list). */
  onClient?: (client: Client) => void;
  /** The server's logger (default: silent). */
  log?: Logger;
  /** Replaces the model provider of both roles, or of one (default: each role's provider from the settings, talking to the stand-in). */
  models?: ModelOverrides;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'planexec-test-'));
  const root = join(dir, 'workspace');
  mkdirSync(root, { recursive: true });
  const standin = opts.sharedStandin ?? (await startOpenAIStandin(opts.standin));
  const config = loadConfig(
    {
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: standin.baseURL,
      PLANEXEC_DB: join(dir, 'state', 'planexec.db'),
      PLANEXEC_ROOT: root,
      PLANEXEC_MAX_RETRIES: '0',
      PLANEXEC_WORKTREES: join(dir, 'worktrees'),
      ...opts.env,
    },
    { cwd: opts.cwd ?? dir },
  );
  const composed = await compose(config, opts.models ? { models: opts.models } : {});
  const { server, cleanup } = createServer({
    app: composed.app,
    log: opts.log ?? createLogger('silent'),
    version: 'test',
    progressIntervalMs: config.progressIntervalMs,
    clientRoots: config.sources.root === null,
    redact: composed.redact,
    requester: config.requester,
  });
  const client = new Client({ name: 'planexec-test', version: '1.0.0' }, opts.clientCapabilities);
  opts.onClient?.(client);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  await client.connect(clientSide);

  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  // composed's own properties as they are (its `db` getter throws on PostgreSQL: read it only when used).
  const base = Object.defineProperties({}, Object.getOwnPropertyDescriptors(composed)) as Composed;
  return Object.assign(base, {
    config,
    standin,
    client,
    root,
    dir,
    call,
    async ok<T>(name: string, args: Record<string, unknown> = {}) {
      const result = await call(name, args);
      if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
      return result.structuredContent as T;
    },
    writeFile(path, content) {
      const full = join(root, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    },
    snapshot() {
      const tables = composed.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
      return Object.fromEntries(tables.map(({ name }) => [name, composed.db.prepare(`SELECT * FROM ${name} ORDER BY rowid`).all()]));
    },
    watchWrites() {
      const other = new Database(config.dbPath, { readonly: true, fileMustExist: true });
      const version = () => other.pragma('data_version', { simple: true }) as number;
      const start = version();
      return { wrote: () => version() !== start, close: () => other.close() };
    },
    async close() {
      composed.runtime.stop();
      await composed.commands.killAll();
      await client.close();
      await cleanup(0);
      await composed.close();
      if (!opts.sharedStandin) await standin.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  } satisfies Omit<Harness, Exclude<keyof Composed, 'close'>>);
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

// Composition root: config -> database -> adapters -> core -> MCP server -> stdio transport.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type Database from 'better-sqlite3';
import { WorkspaceFileSystem } from './adapters/files/workspace-reader.js';
import { OpenAIResponsesProvider, type SdkLogger } from './adapters/openai/responses-provider.js';
import type { KyselyStore } from './adapters/store/kysely-store.js';
import { openSqliteStore } from './adapters/store/sqlite.js';
import { processOwner, processProbe, randomIds, systemClock } from './adapters/system.js';
import { GptTokenCounter } from './adapters/tokens/gpt-token-counter.js';
import { ConfigError, loadConfig, type Config, type FileConfig } from './config.js';
import { unpricedModels } from './core/cost.js';
import type { CoreDeps } from './core/deps.js';
import type { ModelProvider } from './core/ports.js';
import { createPlanexec, type Planexec } from './core/planexec.js';
import { Runtime } from './core/runtime.js';
import { createLogger } from './log.js';
import { createServer } from './mcp/server.js';
import { serveStdio } from './mcp/stdio.js';

export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface Composed {
  app: Planexec;
  /** Loads the model SDK ahead of the first call. */
  warmUp(): Promise<void>;
  store: KyselyStore;
  /** The SQLite connection underneath (tests inspect the file through it). */
  db: Database.Database;
  owner: string;
  runtime: Runtime;
  /** Closes the database (after runtime.stop()). */
  close(): Promise<void>;
}

/**
 * Builds the core over the real adapters: opens and migrates the database, registers this process
 * and starts its heartbeat. `models` can be replaced (tests, benchmarks). Throws StorageError when
 * the database cannot be used.
 */
export async function compose(
  config: Config,
  overrides: { models?: ModelProvider; onError?: (error: unknown, what: string) => void; sdkLogger?: SdkLogger } = {},
): Promise<Composed> {
  const { store, raw: db, close } = await openSqliteStore(config.dbPath);
  const me = processOwner();
  const owner = me.id;
  const runtime = new Runtime({ store, clock: systemClock, probe: processProbe, owner: me, leaseMs: config.leaseMs, onError: overrides.onError });
  try {
    await runtime.start();
  } catch (error) {
    await close();
    throw error;
  }
  const provider = new OpenAIResponsesProvider({
    apiKey: config.openai.apiKey,
    baseURL: config.openai.baseURL,
    timeoutMs: config.openai.timeoutMs,
    maxRetries: config.openai.maxRetries,
    ...(overrides.sdkLogger ? { logger: overrides.sdkLogger } : {}),
  });
  const deps: CoreDeps = {
    store,
    models: { planner: overrides.models ?? provider, executor: overrides.models ?? provider },
    files: new WorkspaceFileSystem(),
    tokens: new GptTokenCounter(),
    clock: systemClock,
    ids: randomIds,
    owner,
    runtime,
    settings: {
      root: config.root,
      models: config.models,
      prices: config.prices,
      extendedCacheModels: config.extendedCacheModels,
      context: {
        maxFileBytes: config.limits.maxFileBytes,
        maxContextBytes: config.limits.maxContextBytes,
        maxDependencyChars: config.limits.maxDependencyChars,
      },
      maxOutputTokens: config.limits.maxOutputTokens,
      reviewOutputChars: config.limits.reviewOutputChars,
      resultBytes: config.limits.resultBytes,
      concurrency: config.concurrency,
      ladder: config.ladder,
      defaultBudget: config.defaultBudget,
      compaction: config.compaction,
      cachePriming: config.cachePriming,
    },
  };
  return { app: createPlanexec(deps), warmUp: () => provider.warm(), store, db, owner, runtime, close };
}

const HELP = `planexec ${VERSION}: MCP server (stdio) that splits work between a planner and an executor model.

Usage: planexec [--config file.json] [--db path] [--root dir]

MCP hosts start it with no arguments; it speaks MCP on stdin/stdout and logs to stderr.
Configuration comes from the environment (OPENAI_API_KEY, PLANEXEC_*; see the README),
a JSON config file (--config or PLANEXEC_CONFIG), and these flags, which win.
`;

function readConfig(argv: string[], env: NodeJS.ProcessEnv): Config | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      config: { type: 'string' },
      db: { type: 'string' },
      root: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help || values.version) {
    // Not server mode: these go to stdout like any CLI's.
    process.stdout.write(values.help ? HELP : `${VERSION}\n`);
    return null;
  }
  const fileName = values.config ?? env.PLANEXEC_CONFIG?.trim();
  let file: unknown;
  if (fileName) {
    try {
      file = JSON.parse(readFileSync(fileName, 'utf8'));
    } catch (error) {
      throw new ConfigError(`Cannot read the config file ${fileName}: ${(error as Error).message}`);
    }
  }
  const overrides: FileConfig = {};
  if (values.db) overrides.db = values.db;
  if (values.root) overrides.root = values.root;
  return loadConfig(env, { file, fileName, overrides });
}

export async function main(argv = process.argv.slice(2), env = process.env): Promise<void> {
  let config: Config | null;
  try {
    config = readConfig(argv, env);
  } catch (error) {
    process.stderr.write(`planexec: ${(error as Error).message}\nRun planexec --help for usage.\n`);
    process.exitCode = 2;
    return;
  }
  if (!config) return;

  const log = createLogger(config.logLevel);
  let composed: Composed;
  try {
    composed = await compose(config, {
      onError: (error, what) => log.warn({ err: error }, `${what} failed; retrying at the next beat`),
      // The OpenAI SDK's own logs (OPENAI_LOG) go to stderr with ours, never to stdout.
      sdkLogger: {
        error: (message, ...details) => log.error({ details }, `openai: ${message}`),
        warn: (message, ...details) => log.warn({ details }, `openai: ${message}`),
        info: (message, ...details) => log.info({ details }, `openai: ${message}`),
        debug: (message, ...details) => log.debug({ details }, `openai: ${message}`),
      },
    });
  } catch (error) {
    log.fatal({ err: error, db: config.dbPath }, 'cannot open the database');
    process.stderr.write(`planexec: cannot open the database ${config.dbPath}: ${(error as Error).message}\nSet PLANEXEC_DB to a writable path.\n`);
    process.exitCode = 1;
    return;
  }
  const { app, store, owner, runtime } = composed;
  const { server, cleanup } = createServer({ app, log, version: VERSION, progressIntervalMs: config.progressIntervalMs });
  if (!config.openai.apiKey) log.warn('OPENAI_API_KEY is not set: the tools are listed, but calls that need a model will answer with an error');
  for (const model of unpricedModels(config.models, config.prices)) {
    log.warn({ model }, `model '${model}' is not in the price table: its calls are left out of quota units and USD; add it under "prices" in the config file`);
  }

  let stopping = false;
  /**
   * The one way this process stops (stdin closed, the transport failed, a signal): logged with the
   * reason, in-flight calls cancelled, this process's work released for others, then exit with
   * `code` (non-zero when the transport failed).
   */
  const stop = (why: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    if (code === 0) log.info({ why }, 'stopping');
    else log.error({ why }, 'stopping');
    process.exitCode = code;
    // Whatever happens below, be gone within a second.
    setTimeout(() => process.exit(code), 900).unref();
    // Interrupted runs keep their phase (runtime.stopping), for the next process to resume them.
    runtime.stop();
    void cleanup(400)
      .catch((error: unknown) => log.error({ err: error }, 'error while stopping'))
      .then(async () => {
        const released = await store.owners.release(owner, Date.now());
        if (released.calls || released.subtasks) log.warn(released, 'released unfinished work');
      })
      .catch((error: unknown) => log.error({ err: error }, 'could not release this process\'s work; another process will take it over after the lease'))
      .finally(() => {
        void composed.close().finally(() => process.exit(code));
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (error) => log.error({ err: error }, 'unhandled rejection'));

  await serveStdio(server, { log, onStop: (why, failed) => stop(why, failed ? 1 : 0) });
  // Once the host has had time to list the tools, load the model SDK off the critical path.
  setTimeout(() => void composed.warmUp().catch((error: unknown) => log.warn({ err: error }, 'could not load the OpenAI SDK')), 1_000).unref();
  log.info({ version: VERSION, db: config.dbPath, root: config.root, planner: config.models.planner, executor: config.models.executor }, 'planexec ready');
}

// Composition root: config -> database -> adapters -> core -> MCP server -> stdio transport.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type Database from 'better-sqlite3';
import { WorkspaceFileSystem } from './adapters/files/workspace-reader.js';
import { WorktreeFiles } from './adapters/files/workspace-writer.js';
import { GitChanges } from './adapters/git/git-changes.js';
import { OpenAIResponsesProvider, type SdkLogger } from './adapters/openai/responses-provider.js';
import { CommandRunner } from './adapters/process/run-command.js';
import { secretRedactor } from './adapters/redact.js';
import type { KyselyStore } from './adapters/store/kysely-store.js';
import { openSqliteStore } from './adapters/store/sqlite.js';
import { processOwner, processProbe, randomIds, systemClock } from './adapters/system.js';
import { GptTokenCounter } from './adapters/tokens/gpt-token-counter.js';
import { checkPaths, ConfigError, loadConfig, readConfigFile, secretValues, type Config, type FileConfig } from './config.js';
import { unpricedModels } from './core/cost.js';
import { StorageError } from './core/errors.js';
import type { CoreDeps } from './core/deps.js';
import type { ModelProvider } from './core/ports.js';
import { createPlanexec, type Planexec } from './core/planexec.js';
import { Runtime } from './core/runtime.js';
import { createLogger } from './log.js';
import { createServer } from './mcp/server.js';
import { serveStdio } from './mcp/stdio.js';
import { protocolStdout } from './stdout-guard.js';

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
  /** Masks the configured secrets (and what looks like one) in a text; what the logger, core and server use. */
  redact: (text: string) => string;
  /** Every command this process runs (git, checks): killAll() on stop, killAllNow() on exit. */
  commands: CommandRunner;
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
  overrides: {
    models?: ModelProvider;
    onError?: (error: unknown, what: string) => void;
    sdkLogger?: SdkLogger;
    /** Told why changes are off for every workflow (git missing or too old). */
    onNotice?: (message: string) => void;
  } = {},
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
    secrets: config.secrets,
    ...(overrides.sdkLogger ? { logger: overrides.sdkLogger } : {}),
  });
  const redact = secretRedactor(config.secrets);
  const commands = new CommandRunner();
  let git: GitChanges | null = null;
  if (config.changes.mode === 'worktree') {
    git = new GitChanges({ runner: commands });
    try {
      await git.ready();
    } catch (error) {
      overrides.onNotice?.(`changes are off: ${(error as Error).message}`);
      git = null;
    }
  }
  const fileOptions = { allowSecretFiles: config.files.allowSecretFiles, allowHardLinks: config.files.allowHardLinks };
  const deps: CoreDeps = {
    store,
    models: { planner: overrides.models ?? provider, executor: overrides.models ?? provider },
    files: new WorkspaceFileSystem(fileOptions),
    writer: new WorktreeFiles(fileOptions),
    git,
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
      changes: config.changes,
    },
    redact,
  };
  return { app: createPlanexec(deps), warmUp: () => provider.warm(), store, db, owner, runtime, redact, commands, close };
}

const HELP = `planexec ${VERSION}: MCP server (stdio) that splits work between a planner and an executor model.

Usage: planexec [--config file.json] [--db path] [--root dir]

MCP hosts start it with no arguments; it speaks MCP on stdin/stdout and logs to stderr.
Configuration comes from the environment (OPENAI_API_KEY, PLANEXEC_*; see the README),
a JSON config file (--config or PLANEXEC_CONFIG), and these flags, which win.
`;

/** The configuration of this start, or null when a flag (--help, --version) answered instead. Throws ConfigError. */
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
    protocolStdout().write(values.help ? HELP : `${VERSION}\n`);
    return null;
  }
  const fromFlag = values.config !== undefined;
  const path = fromFlag ? values.config : env.PLANEXEC_CONFIG?.trim();
  const fileSetting = fromFlag ? '--config' : 'PLANEXEC_CONFIG';
  const { file, fileName } = path ? readConfigFile(path, fileSetting, env) : { file: undefined, fileName: undefined };
  const overrides: FileConfig = {};
  if (values.db) overrides.db = values.db;
  if (values.root) overrides.root = values.root;
  const config = loadConfig(env, { file, fileName, fileSetting, overrides });
  checkPaths(config);
  return config;
}

export async function main(argv = process.argv.slice(2), env = process.env): Promise<void> {
  let config: Config | null;
  try {
    config = readConfig(argv, env);
  } catch (error) {
    // A config file that is not JSON is quoted by JSON.parse: mask any secret it holds.
    const message = secretRedactor(secretValues(env))((error as Error).message);
    process.stderr.write(`planexec: ${message}\n${error instanceof ConfigError ? '' : 'Run planexec --help for usage.\n'}`);
    process.exitCode = 2;
    return;
  }
  if (!config) return;

  const redact = secretRedactor(config.secrets);
  const log = createLogger(config.logLevel, redact);
  let composed: Composed;
  try {
    composed = await compose(config, {
      onError: (error, what) => log.warn({ err: error }, `${what} failed; retrying at the next beat`),
      onNotice: (message) => log.warn(message),
      // The OpenAI SDK's own logs (OPENAI_LOG) go to stderr with ours, never to stdout.
      sdkLogger: {
        error: (message, ...details) => log.error({ details }, `openai: ${message}`),
        warn: (message, ...details) => log.warn({ details }, `openai: ${message}`),
        info: (message, ...details) => log.info({ details }, `openai: ${message}`),
        debug: (message, ...details) => log.debug({ details }, `openai: ${message}`),
      },
    });
  } catch (error) {
    if (error instanceof StorageError) {
      const setting = config.sources.db ?? 'PLANEXEC_DB';
      log.fatal({ err: error, db: config.dbPath, setting }, 'cannot open the database');
      process.stderr.write(redact(`planexec: ${setting} ${config.dbPath}: cannot open the database: ${error.message}\n${error.hint} Or set ${setting} to another file.\n`));
    } else {
      log.fatal({ err: error }, 'cannot start');
      process.stderr.write(redact(`planexec: cannot start: ${(error as Error).message}\nThe details are in the log above.\n`));
    }
    process.exitCode = 1;
    return;
  }
  const { app, store, owner, runtime } = composed;
  const { server, cleanup } = createServer({
    app,
    log,
    version: VERSION,
    progressIntervalMs: config.progressIntervalMs,
    // An explicit PLANEXEC_ROOT (or --root, or "root" in the file) wins over the client's MCP roots.
    clientRoots: config.sources.root === null,
    redact: composed.redact,
  });
  for (const warning of config.warnings) log.warn(warning);
  if (config.root === null) {
    log.info(
      { cwd: process.cwd() },
      'no workspace root: the working folder is / or the home folder (or holds it), which is never taken as one; files can be read once the host names an MCP root, or set PLANEXEC_ROOT',
    );
  }
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
    // Checks and git commands end with the process: their whole process groups.
    void composed.commands.killAll();
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
  process.on('exit', () => composed.commands.killAllNow());
  process.on('unhandledRejection', (error) => log.error({ err: error }, 'unhandled rejection'));

  await serveStdio(server, { log, onStop: (why, failed) => stop(why, failed ? 1 : 0), stdout: protocolStdout() });
  // Once the host has had time to list the tools, load the model SDK off the critical path.
  setTimeout(() => void composed.warmUp().catch((error: unknown) => log.warn({ err: error }, 'could not load the OpenAI SDK')), 1_000).unref();
  log.info({ version: VERSION, db: config.dbPath, root: config.root, planner: config.models.planner, executor: config.models.executor }, 'planexec ready');
}

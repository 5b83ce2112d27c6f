// Composition root: config -> database -> adapters -> core -> MCP server -> stdio transport.
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import type Database from 'better-sqlite3';
import { WorkspaceFileSystem } from './adapters/files/workspace-reader.js';
import { WorktreeFiles } from './adapters/files/workspace-writer.js';
import { GitChanges } from './adapters/git/git-changes.js';
import { probeCheckSandbox, type CheckSandbox } from './adapters/process/check-sandbox.js';
import { claimPidFolder } from './adapters/process/pid-folders.js';
import { CommandRunner } from './adapters/process/run-command.js';
import type { CodexLogger } from './adapters/codex/codex-provider.js';
import { isPrivateEndpoint, type SdkLogger } from './adapters/openai/sdk-client.js';
import { createModelProvider, type ProviderHandle, type ProviderKind } from './adapters/providers.js';
import { secretRedactor } from './adapters/redact.js';
import type { KyselyStore } from './adapters/store/kysely-store.js';
import { openFailureMessage } from './adapters/store/open-failure.js';
import { openPostgresStore } from './adapters/store/postgres.js';
import { openSqliteStore } from './adapters/store/sqlite.js';
import { processOwner, processProbe, randomIds, systemClock } from './adapters/system.js';
import { GptTokenCounter } from './adapters/tokens/gpt-token-counter.js';
import { checkPaths, ConfigError, loadConfig, readConfigFile, secretValues, type Config, type FileConfig } from './config.js';
import { unpricedModels, withLocalModels, type PriceTable } from './core/cost.js';
import { ModelCallError, StorageError } from './core/errors.js';
import type { CoreDeps } from './core/deps.js';
import type { ModelProvider } from './core/ports.js';
import { createPlanexec, type Planexec } from './core/planexec.js';
import { Runtime } from './core/runtime.js';
import type { Role } from './core/types.js';
import { handOver } from './hand-over.js';
import { createLogger } from './log.js';
import type { HttpHandle } from './mcp/http.js';
import { createScope, createServer, stopScope, type ServerDeps } from './mcp/server.js';
import { serveStdio } from './mcp/stdio.js';
import { protocolStdout } from './stdout-guard.js';

/** planexec's version, as package.json gives it (semver, e.g. '0.1.0'): --version, the MCP serverInfo, the start-up log. */
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** A provider put in place of a role's (tests, benchmarks): one for both roles, or one per role. */
export type ModelOverrides = ModelProvider | Partial<Record<Role, ModelProvider>>;

/** A provider that cannot make any call as configured, found at start-up (the server starts regardless). */
export interface ProviderProblem {
  /** The roles served by that provider. */
  roles: Role[];
  kind: ProviderKind;
  /** What is wrong and what to do (the provider's ready() error: message and hint). */
  message: string;
}

/** What compose() built: the core, its adapters, and how to stop them. */
export interface Composed {
  /** The core's use cases (src/core/planexec.ts), which the MCP tools call. */
  app: Planexec;
  /** Loads the model SDK ahead of the first call (each role's provider; nothing for codex). */
  warmUp(): Promise<void>;
  /** The provider kind of each role, as journaled with its calls. */
  providers: Readonly<Record<Role, ProviderKind>>;
  /** Providers (not replaced by an override) that cannot make a call as configured: no key, no Codex CLI. */
  providerProblems(): ProviderProblem[];
  /** Ends model calls still running in child processes (Codex CLIs) and waits for them; at shutdown. */
  stopModels(): Promise<void>;
  /** SIGKILL to those child processes, synchronously: for process.on('exit'). */
  stopModelsNow(): void;
  /** The database (SQLite or PostgreSQL), migrated. */
  store: KyselyStore;
  /** The SQLite connection underneath (tests inspect the file through it); throws when the store is PostgreSQL. */
  readonly db: Database.Database;
  /** This process's owner id (host:pid:random, processOwner()), as its leases and journal rows name it. */
  owner: string;
  /** This process's registration, heartbeat and in-flight work (started by compose; stop() before close()). */
  runtime: Runtime;
  /** Masks the configured secrets (and what looks like one) in a text; what the logger, core and server use. */
  redact: (text: string) => string;
  /** Every command this process runs (git, checks): killAll() on stop, killAllNow() on exit. */
  commands: CommandRunner;
  /** How checks and the setup command are isolated (PLANEXEC_CHECK_SANDBOX); null: not (off, or unavailable with auto). */
  sandbox: CheckSandbox | null;
  /** Stops the model providers' child processes, then closes the database (after runtime.stop()). */
  close(): Promise<void>;
}

const ROLES: readonly Role[] = ['planner', 'executor'];

/**
 * The price table the ledger uses: the configured one, plus the models of roles served by a local
 * Chat Completions server (loopback or private base URL) at $0 when the table has no price for them
 * (withLocalModels in src/core/cost.ts states the rule).
 */
export function effectivePrices(config: Readonly<Config>): PriceTable {
  return withLocalModels(
    config.prices,
    ROLES.map((role) => ({ model: config.models[role], provider: config.providers[role].kind, local: isPrivateEndpoint(config.providers[role].baseURL) })),
  );
}

/** Where the per-process pid folders of Codex CLIs live: next to the database file, else in the temp folder. */
function pidRootOf(config: Readonly<Config>): string {
  const file = config.dbPath !== ':memory:' && isAbsolute(config.dbPath);
  return file ? join(dirname(config.dbPath), 'codex-pids') : join(tmpdir(), `planexec-codex-pids-${process.getuid?.() ?? 'user'}`);
}

/**
 * One provider per role from the settings (createModelProvider), one instance shared by both roles
 * when they use the same kind, endpoint and key (the Codex CLI: always one). Roles in `replaced` get
 * none. Never throws: missing keys or CLIs are reported by ready() and by the calls.
 */
function buildProviders(
  config: Readonly<Config>,
  replaced: ReadonlySet<Role>,
  loggers: { sdkLogger?: SdkLogger; codexLogger?: CodexLogger; pidDir?: string },
): Partial<Record<Role, ProviderHandle>> {
  const built = new Map<string, ProviderHandle>();
  const out: Partial<Record<Role, ProviderHandle>> = {};
  for (const role of ROLES) {
    if (replaced.has(role)) continue;
    const p = config.providers[role];
    const key = p.kind === 'codex' ? 'codex' : JSON.stringify([p.kind, p.baseURL ?? '', p.apiKey ?? '', p.settingNames.apiKey, p.settingNames.baseURL]);
    let handle = built.get(key);
    if (!handle) {
      handle = createModelProvider(p.kind, {
        timeoutMs: config.openai.timeoutMs,
        secrets: config.secrets,
        apiKey: p.apiKey,
        baseURL: p.baseURL,
        maxRetries: config.openai.maxRetries,
        settingNames: p.settingNames,
        codexBin: config.codexBin,
        ...(loggers.sdkLogger ? { sdkLogger: loggers.sdkLogger } : {}),
        ...(loggers.codexLogger ? { codexLogger: loggers.codexLogger } : {}),
        ...(loggers.pidDir ? { pidDir: loggers.pidDir } : {}),
      });
      built.set(key, handle);
    }
    out[role] = handle;
  }
  return out;
}

/**
 * Builds the core over the real adapters: opens and migrates the database, registers this process
 * and starts its heartbeat, and makes each role's model provider from the settings
 * (PLANEXEC_<ROLE>_PROVIDER). `models` replaces them (tests, benchmarks): one provider for both
 * roles, or one per role; the journal still records each role's configured provider kind. Checks
 * run in the sandbox PLANEXEC_CHECK_SANDBOX asks for (probed first, see checkSandboxFor). Throws
 * ConfigError when PLANEXEC_CHECK_SANDBOX=namespace and there is no namespace (before anything is
 * opened), and when the database cannot be opened or this process cannot register in it (the
 * message names the setting the database came from and what to do, openFailureMessage).
 */
export async function compose(
  config: Config,
  overrides: {
    models?: ModelOverrides;
    onError?: (error: unknown, what: string) => void;
    sdkLogger?: SdkLogger;
    codexLogger?: CodexLogger;
    /** Told why changes are off for every workflow (git missing or too old), and why checks run without a sandbox. */
    onNotice?: (message: string) => void;
  } = {},
): Promise<Composed> {
  // First: PLANEXEC_CHECK_SANDBOX=namespace on a machine without namespaces must not start anything.
  const sandbox = await checkSandboxFor(config, overrides.onNotice);
  // PLANEXEC_DB=postgres://... : PostgreSQL (a team's shared database); otherwise a SQLite file.
  // Any failure to open it is the user's to fix: a ConfigError naming the setting it came from (exit 2).
  const cannotOpen = (error: unknown) => new ConfigError(openFailureMessage(error, config.sources.db ?? 'PLANEXEC_DB', config.dbPath, config.dbUrl !== null), { cause: error });
  let opened: { store: KyselyStore; raw: Database.Database | null; close(): Promise<void> };
  try {
    opened = config.dbUrl
      ? { ...(await openPostgresStore(config.dbUrl, { onIdleError: (error) => overrides.onError?.(error, 'an idle PostgreSQL connection') })), raw: null }
      : await openSqliteStore(config.dbPath);
  } catch (error) {
    throw cannotOpen(error);
  }
  const { store, raw, close } = opened;
  const me = processOwner();
  const owner = me.id;
  const runtime = new Runtime({ store, clock: systemClock, probe: processProbe, owner: me, leaseMs: config.leaseMs, onError: overrides.onError });
  try {
    await runtime.start();
  } catch (error) {
    await close();
    throw error instanceof StorageError ? cannotOpen(error) : error;
  }
  const given = overrides.models;
  const replacement: Partial<Record<Role, ModelProvider>> = given === undefined ? {} : 'generate' in given ? { planner: given as ModelProvider, executor: given as ModelProvider } : given;
  const replaced = new Set(ROLES.filter((r) => replacement[r]));
  // Codex CLIs record their process groups, so a server started after a crash ends what it left.
  const usesCodex = ROLES.some((r) => !replaced.has(r) && config.providers[r].kind === 'codex');
  const pidDir = usesCodex ? (await claimPidFolder(pidRootOf(config), process.pid, (pid) => processProbe.isRunning(me.host, pid) !== false)).folder : undefined;
  const handles = buildProviders(config, replaced, { ...overrides, ...(pidDir ? { pidDir } : {}) });
  const modelOf = (role: Role): ModelProvider => replacement[role] ?? handles[role]!.provider;
  const distinct = [...new Set(Object.values(handles))];
  const providers = { planner: config.providers.planner.kind, executor: config.providers.executor.kind };
  const redact = secretRedactor(config.secrets);
  const commands = new CommandRunner();
  // git is there even with PLANEXEC_CHANGES=off: a workflow may still ask for changes: "worktree".
  let git: GitChanges | null = new GitChanges({ runner: commands, sandbox: sandbox?.prefix ?? null });
  try {
    await git.ready();
  } catch (error) {
    if (config.changes.mode === 'worktree') overrides.onNotice?.(`changes are off: ${(error as Error).message}`);
    git = null;
  }
  const fileOptions = { allowSecretFiles: config.files.allowSecretFiles, allowHardLinks: config.files.allowHardLinks };
  const deps: CoreDeps = {
    store,
    models: { planner: modelOf('planner'), executor: modelOf('executor') },
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
      providers,
      prices: effectivePrices(config),
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
      // Over HTTP, any token holder sends a request's checks: they must be ones the operator allowed.
      changes: { ...config.changes, trustRequestChecks: config.http === null },
    },
    redact,
  };
  const stopModels = async () => {
    await Promise.all(distinct.map((h) => h.stop()));
  };
  return {
    app: createPlanexec(deps),
    warmUp: async () => {
      await Promise.all(distinct.map((h) => h.warm()));
    },
    providers,
    providerProblems: () => {
      const problems: ProviderProblem[] = [];
      for (const h of distinct) {
        try {
          h.provider.ready?.();
        } catch (error) {
          const message = error instanceof ModelCallError ? `${error.message} ${error.hint}` : (error as Error).message;
          problems.push({ roles: ROLES.filter((r) => handles[r] === h), kind: h.kind, message });
        }
      }
      return problems;
    },
    stopModels,
    stopModelsNow: () => distinct.forEach((h) => h.stopNow()),
    store,
    get db(): Database.Database {
      if (!raw) throw new Error('the store is PostgreSQL: there is no SQLite connection');
      return raw;
    },
    owner,
    runtime,
    redact,
    commands,
    sandbox,
    close: async () => {
      await stopModels();
      await close();
    },
  };
}

/**
 * The check sandbox PLANEXEC_CHECK_SANDBOX asks for: none for 'off'; else probeCheckSandbox's (the
 * ready log names it). As root, tells `notice` that checks run as root without capabilities and what
 * that leaves open. When there is none, 'auto' tells `notice` what that leaves unprotected, and 'namespace' throws a
 * ConfigError naming the setting (the server must not start).
 */
async function checkSandboxFor(config: Readonly<Config>, notice: ((message: string) => void) | undefined): Promise<CheckSandbox | null> {
  const setting = config.changes.sandbox;
  if (setting === 'off') return null;
  const probe = await probeCheckSandbox();
  if (probe.sandbox) {
    // The ready log names the sandbox in every case; as root, what it leaves open is worth a warning.
    if (probe.sandbox.asRoot) {
      notice?.(
        `checks run as root without capabilities (${probe.sandbox.description}): they cannot leave their PID namespace or read this server's environment, but files owned by root (system files, root's home folder) and root-writable kernel settings stay writable to the code the executor model writes. For repositories you do not trust, run planexec as an ordinary user or in a container.`,
      );
    }
    return probe.sandbox;
  }
  if (setting === 'namespace') {
    throw new ConfigError(
      `PLANEXEC_CHECK_SANDBOX=namespace: checks cannot run in a PID namespace of their own on this machine: ${probe.problem}. Install util-linux (unshare, setpriv) and coreutils, allow unprivileged user namespaces (or run where they are allowed), or set PLANEXEC_CHECK_SANDBOX=auto (or off) to run checks without it.`,
    );
  }
  notice?.(
    `checks run without a sandbox (PLANEXEC_CHECK_SANDBOX=auto: ${probe.problem}): a check, which runs code the executor model wrote, has your user's rights and can read what you can, this server's environment included (its API keys and HTTP tokens, through /proc), and what it starts in the background may outlive it. For repositories you do not trust, run planexec as a dedicated user or in a container.`,
  );
  return null;
}

const HELP = `planexec ${VERSION}: MCP server that splits work between a planner and an executor model.

Usage: planexec [--config file.json] [--db path|postgres://URL] [--root dir] [--http HOST:PORT]

MCP hosts start it with no arguments; it speaks MCP on stdin/stdout and logs to stderr.
--http HOST:PORT serves MCP over Streamable HTTP at http://HOST:PORT/mcp instead, for a team
to share one server (":PORT" or "PORT" alone: 127.0.0.1); set PLANEXEC_HTTP_TOKEN, which a
non-loopback address requires (see the README, "Team server"). --db takes a SQLite file
(default $XDG_STATE_HOME/planexec/state.db, else ~/.local/state/planexec/state.db)
or a postgres:// URL that several servers can share.
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
      http: { type: 'string' },
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
  if (values.http !== undefined) overrides.http = values.http;
  const config = loadConfig(env, { file, fileName, fileSetting, overrides });
  checkPaths(config);
  return config;
}

/**
 * The `planexec` command (src/cli.ts): reads the configuration from `argv` (--config, --db, --root,
 * --http, --help, --version) and `env`, composes the server and serves MCP over stdio, or over
 * Streamable HTTP with --http, until stdin closes, the transport fails or SIGTERM/SIGINT arrives.
 * Start-up failures are written to stderr, not thrown: a bad setting or a database that cannot be
 * opened with exit code 2; any other failed start or an address it cannot listen on, with exit
 * code 1 (process.exitCode).
 */
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
      codexLogger: {
        warn: (message, ...details) => log.warn({ details }, message),
        debug: (message, ...details) => log.debug({ details }, message),
      },
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(redact(`planexec: ${error.message}\n`));
      process.exitCode = 2;
      return;
    }
    log.fatal({ err: error }, 'cannot start');
    process.stderr.write(redact(`planexec: cannot start: ${(error as Error).message}\nThe details are in the log above.\n`));
    process.exitCode = 1;
    return;
  }
  const { app, store, owner, runtime } = composed;
  const serverDeps: ServerDeps = {
    app,
    log,
    version: VERSION,
    progressIntervalMs: config.progressIntervalMs,
    // An explicit PLANEXEC_ROOT (or --root, or "root" in the file) wins over the client's MCP roots.
    clientRoots: config.sources.root === null,
    redact: composed.redact,
    requester: config.requester,
  };
  // Over HTTP, one server per session, all in one scope (shutdown reaches every session's work).
  const scope = createScope();
  const stdio = config.http ? null : createServer({ ...serverDeps, scope });
  let http: HttpHandle | null = null;
  /** Cancels in-flight calls, waits at most `graceMs` for their journal rows, and closes the transport(s). */
  const cleanup = async (graceMs: number) => {
    http?.stopAccepting();
    await stopScope(scope, graceMs);
    await (stdio ? stdio.server.close() : http?.close());
  };
  for (const warning of config.warnings) log.warn(warning);
  if (config.root === null) {
    log.info(
      { cwd: process.cwd() },
      'no workspace root: the working folder is / or the home folder (or holds it), which is never taken as one; files can be read once the host names an MCP root, or set PLANEXEC_ROOT',
    );
  }
  for (const role of ROLES) {
    const p = config.providers[role];
    // A chat server named by URL gets a placeholder key: fine for a local server, a 401 for most others.
    if (p.kind === 'chat' && p.baseURL && !p.apiKey && !isPrivateEndpoint(p.baseURL)) {
      log.warn({ role, baseURL: p.baseURL }, `the ${role}'s chat server ${p.baseURL} gets no key: if it needs one, set ${p.settingNames.apiKey} in the env of the planexec entry in your MCP host config`);
    }
  }
  for (const problem of composed.providerProblems()) {
    log.warn({ roles: problem.roles, provider: problem.kind }, `the ${problem.roles.join(' and ')}'s provider (${problem.kind}) cannot make calls yet: the tools are listed, but calls that need it will answer with an error. ${problem.message}`);
  }
  for (const model of unpricedModels(config.models, effectivePrices(config))) {
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
    const deadline = Date.now() + 900;
    setTimeout(() => process.exit(code), 900).unref();
    // Interrupted runs keep their phase (runtime.stopping), for the next process to resume them.
    runtime.stop();
    // Checks and git commands end with the process: their whole process groups.
    void composed.commands.killAll();
    void Promise.all([cleanup(400), composed.stopModels()])
      .catch((error: unknown) => log.error({ err: error }, 'error while stopping'))
      .then(async () => {
        // What was kept while the storage refused it goes first (a billed answer not written is
        // run and billed again), in what is left of the second but for the release and the close.
        const released = await handOver(runtime, store, owner, log, deadline - Date.now() - 200, () => Date.now());
        if (released.calls || released.subtasks) log.warn(released, 'released unfinished work');
      })
      .catch((error: unknown) => log.error({ err: error }, 'could not release this process\'s work; another process will take it over after the lease'))
      .finally(() => {
        void composed.close().finally(() => process.exit(code));
      });
  };
  // Whatever ends the process, no Codex CLI it started outlives it.
  process.on('exit', () => composed.stopModelsNow());
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('exit', () => composed.commands.killAllNow());
  process.on('unhandledRejection', (error) => log.error({ err: error }, 'unhandled rejection'));

  let url: string | undefined;
  if (stdio) {
    await serveStdio(stdio.server, { log, onStop: (why, failed) => stop(why, failed ? 1 : 0), stdout: protocolStdout() });
  } else {
    const settings = config.http!;
    // Loaded only in HTTP mode: stdio start-up does not pay for the HTTP transport's modules.
    const { serveHttp } = await import('./mcp/http.js');
    try {
      http = await serveHttp({ ...settings, tokens: settings.tokens, log, newSession: () => createServer({ ...serverDeps, scope }).server });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'EADDRINUSE' ? 'the port is in use (another server?)' : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : code === 'EADDRNOTAVAIL' ? 'no interface of this machine has that address' : (error as Error).message;
      process.stderr.write(redact(`planexec: ${settings.source} ${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}: cannot listen: ${why}. Choose another address or port.\n`));
      stop(`cannot listen on ${settings.host}:${settings.port}: ${why}`, 1);
      return;
    }
    url = http.url;
  }
  // Once the host has had time to list the tools, load the model SDK off the critical path.
  setTimeout(() => void composed.warmUp().catch((error: unknown) => log.warn({ err: error }, 'could not load the OpenAI SDK')), 1_000).unref();
  log.info(
    {
      version: VERSION,
      db: config.dbPath,
      root: config.root,
      planner: config.models.planner,
      executor: config.models.executor,
      providers: composed.providers,
      checkSandbox: composed.sandbox?.description ?? 'none',
      ...(url ? { url, requesters: config.http!.tokens.map((t) => t.name) } : {}),
    },
    url ? `planexec ready: MCP over Streamable HTTP at ${url}` : 'planexec ready',
  );
}

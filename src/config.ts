// Configuration: defaults < config file (PLANEXEC_CONFIG or --config) < environment < command line.
// The environment is passed in, never read from process.env here, so tests can build any config.
// Paths: a leading `~` is the env's HOME; relative paths are resolved against the working folder.
// Every error names the setting at fault (the variable, the flag, or the key of the config file).
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, parse as parsePath, relative, resolve, sep, isAbsolute } from 'node:path';
import { z } from 'zod';
import { PROVIDER_KINDS, type ProviderKind } from './adapters/providers.js';
import { isPostgresUrl, maskPostgresUrl, postgresPassword } from './adapters/store/postgres-url.js';
import { DEFAULT_PRICES } from './core/cost.js';
import { splitCommand, splitPattern } from './core/commands.js';
import { closest } from './core/text.js';
import type { Role } from './core/types.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const positiveInt = z.coerce.number().int().positive();
/** on/off, true/false, 1/0 (the environment's spelling), or a JSON boolean (a config file's). */
const onOff = z.preprocess((v) => (v === 'on' || v === 'true' || v === '1' ? true : v === 'off' || v === 'false' || v === '0' ? false : v), z.boolean());

// ---------------------------------------------------------------------------------------------
// Providers (PRODUCT.md, "Providers"; issue 9): each role's provider kind, endpoint and key, and the
// Codex CLI. Kept in one block: the schema keys, the variables, and providerConfig() below.

const HTTP_URL_MESSAGE = 'must be an http:// or https:// URL, e.g. http://localhost:11434/v1';

/** Config-file keys of the provider settings (API keys are read from the environment only). */
const PROVIDER_FILE_SHAPE = {
  plannerProvider: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(PROVIDER_KINDS, { error: `must be one of ${PROVIDER_KINDS.join(', ')}` })).optional(),
  executorProvider: z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.enum(PROVIDER_KINDS, { error: `must be one of ${PROVIDER_KINDS.join(', ')}` })).optional(),
  plannerBaseUrl: z.string().refine(isHttpUrl, HTTP_URL_MESSAGE).optional(),
  executorBaseUrl: z.string().refine(isHttpUrl, HTTP_URL_MESSAGE).optional(),
  codexBin: z.string().min(1).optional(),
};

const PROVIDER_ENV_KEYS = {
  PLANEXEC_PLANNER_PROVIDER: 'plannerProvider',
  PLANEXEC_EXECUTOR_PROVIDER: 'executorProvider',
  PLANEXEC_PLANNER_BASE_URL: 'plannerBaseUrl',
  PLANEXEC_EXECUTOR_BASE_URL: 'executorBaseUrl',
  PLANEXEC_CODEX_BIN: 'codexBin',
} as const;

/** The API key variable of each role (environment only, like OPENAI_API_KEY). */
const ROLE_KEY_VARS: Record<Role, string> = { planner: 'PLANEXEC_PLANNER_API_KEY', executor: 'PLANEXEC_EXECUTOR_API_KEY' };

/** One role's model provider, resolved from the settings. */
export interface RoleProviderConfig {
  kind: ProviderKind;
  /** The endpoint (responses, chat): PLANEXEC_<ROLE>_BASE_URL, else OPENAI_BASE_URL; undefined: OpenAI's. */
  baseURL: string | undefined;
  /**
   * The key (responses, chat): PLANEXEC_<ROLE>_API_KEY, else OPENAI_API_KEY when the role's endpoint
   * is OPENAI_BASE_URL's server (OpenAI's by default): a key is never sent to a server it was not set
   * for. Not enumerable, so it never shows up when the config is serialised or logged.
   */
  readonly apiKey: string | undefined;
  /** The settings that give the key and the endpoint, as the user set them; messages and hints name them. */
  settingNames: { apiKey: string; baseURL: string };
  /** The setting that chose the kind, as the user wrote it; null for the default (responses). */
  kindSource: string | null;
}

/** True for an absolute http: or https: URL. */
function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const OPENAI_ORIGIN = 'https://api.openai.com';

function originOf(url: string | undefined): string {
  return url ? new URL(url).origin : OPENAI_ORIGIN;
}

/**
 * The provider settings of the config: each role's kind (default responses), endpoint and key, and
 * the Codex CLI's path (`~` expanded; a bare name is looked up on PATH by the provider). Throws
 * ConfigError naming the setting: an OPENAI_BASE_URL that is not http(s) while a role uses it (the
 * other settings are checked by the schema). A Codex CLI that is not installed is not an error here:
 * the server starts, and the tool call that needs it says so. Adds a warning for a base URL set for
 * a role whose provider (codex) does not use it.
 */
function providerConfig(
  c: FileConfig,
  env: Readonly<Record<string, string | undefined>>,
  at: { sourceOf: (key: keyof FileConfig) => string | null; home: string; warnings: string[] },
): Pick<Config, 'providers' | 'codexBin'> {
  const openaiBase = env.OPENAI_BASE_URL?.trim() || undefined;
  const openaiKey = env.OPENAI_API_KEY?.trim() || undefined;
  const kinds: Record<Role, ProviderKind> = { planner: c.plannerProvider ?? 'responses', executor: c.executorProvider ?? 'responses' };
  if (openaiBase && !isHttpUrl(openaiBase) && Object.entries(kinds).some(([role, kind]) => kind !== 'codex' && !c[`${role as Role}BaseUrl`])) {
    throw new ConfigError(`OPENAI_BASE_URL ${openaiBase}: ${HTTP_URL_MESSAGE}. Fix it, or leave it unset for OpenAI's own API.`);
  }
  const role = (r: Role): RoleProviderConfig => {
    const baseKey = `${r}BaseUrl` as const;
    const own = c[baseKey]?.trim();
    const ownSource = own ? at.sourceOf(baseKey)! : null;
    if (own && kinds[r] === 'codex') {
      at.warnings.push(`${ownSource} is set, but the ${r}'s provider is codex, which does not use it (the Codex CLI calls the ChatGPT backend of its sign-in).`);
    }
    const baseURL = own || openaiBase;
    const ownKey = env[ROLE_KEY_VARS[r]]?.trim() || undefined;
    // OPENAI_API_KEY only goes to the server it belongs to (OPENAI_BASE_URL's, or OpenAI's).
    const inherits = !ownKey && !!openaiKey && (!own || (isHttpUrl(openaiBase ?? OPENAI_ORIGIN) && originOf(own) === originOf(openaiBase)));
    const out: Omit<RoleProviderConfig, 'apiKey'> = {
      kind: kinds[r],
      baseURL,
      settingNames: {
        apiKey: ownKey || own ? ROLE_KEY_VARS[r] : 'OPENAI_API_KEY',
        baseURL: ownSource ?? 'OPENAI_BASE_URL',
      },
      kindSource: at.sourceOf(`${r}Provider`),
    };
    if (inherits) out.settingNames.apiKey = 'OPENAI_API_KEY';
    Object.defineProperty(out, 'apiKey', { value: ownKey ?? (inherits ? openaiKey : undefined), enumerable: false });
    return out as RoleProviderConfig;
  };
  const bin = c.codexBin?.trim();
  return {
    providers: { planner: role('planner'), executor: role('executor') },
    codexBin: bin ? expandHome(bin, at.home, at.sourceOf('codexBin') ?? 'PLANEXEC_CODEX_BIN') : undefined,
  };
}
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Streamable HTTP (issue 10): `--http HOST:PORT` (PLANEXEC_HTTP, "http" in the file), the bearer
// tokens (PLANEXEC_HTTP_TOKEN, environment only: a secret) and the extra browser origins allowed
// (PLANEXEC_HTTP_ALLOWED_ORIGINS). Kept in one block: the schema keys, the variables, httpConfig().

/** Config-file keys of the HTTP settings (the token is read from the environment only). */
const HTTP_FILE_SHAPE = {
  http: z.string().trim().min(1).optional(),
  httpAllowedOrigins: z
    .preprocess((v) => (typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v), z.array(z.string().trim().min(1)))
    .optional(),
};

const HTTP_ENV_KEYS = { PLANEXEC_HTTP: 'http', PLANEXEC_HTTP_ALLOWED_ORIGINS: 'httpAllowedOrigins' } as const;

/** The requester name of a PLANEXEC_HTTP_TOKEN that is one token without a name. */
export const DEFAULT_REQUESTER = 'default';
/** Shortest token accepted: a guessable token on a network port is no lock at all. */
const MIN_TOKEN_CHARS = 16;
const REQUESTER_NAME = /^[A-Za-z0-9][\w.@-]{0,63}$/;

/** One bearer token and the requester name it stands for. */
export interface HttpToken {
  name: string;
  readonly token: string;
}

/** Where and how `planexec --http` serves MCP (Streamable HTTP at /mcp). */
export interface HttpSettings {
  /** The address to listen on, as net.Server.listen takes it (IPv6 without brackets). */
  host: string;
  /** 0: any free port (the log says which). */
  port: number;
  /** The host is a loopback address (127.0.0.0/8, ::1, localhost): Host headers are checked, a token is optional. */
  loopback: boolean;
  /** The setting that gave the address, as the user wrote it ('--http', 'PLANEXEC_HTTP', '"http" in the config file …'). */
  source: string;
  /** Browser origins allowed besides the server's own loopback ones (scheme://host[:port]). */
  allowedOrigins: string[];
  /**
   * The accepted bearer tokens (PLANEXEC_HTTP_TOKEN), each with its requester name; empty: no token
   * is asked (loopback only). Not enumerable, so it never shows up when the config is serialised.
   */
  readonly tokens: readonly HttpToken[];
}

/**
 * `HOST:PORT`, `:PORT` or `PORT` (loopback 127.0.0.1), `[v6]:PORT`. Throws ConfigError naming
 * `setting` when it is none of these or the port is not 0–65535.
 */
export function parseListenAddress(value: string, setting: string): { host: string; port: number; loopback: boolean } {
  const text = value.trim();
  const fail = (why: string) =>
    new ConfigError(`${setting} ${text}: ${why}. Write HOST:PORT (e.g. 127.0.0.1:8787, or 0.0.0.0:8787 with PLANEXEC_HTTP_TOKEN set), or just the port for 127.0.0.1.`);
  let host: string;
  let portText: string;
  if (text.includes('/')) throw fail('write the address alone, without http:// or a path (planexec serves /mcp)');
  const v6 = /^\[([^\]]+)\]:(\d*)$/.exec(text);
  if (/^\d+$/.test(text)) [host, portText] = ['127.0.0.1', text];
  else if (v6) [host, portText] = [v6[1]!, v6[2]!];
  else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw fail('no port');
    [host, portText] = [text.slice(0, colon) || '127.0.0.1', text.slice(colon + 1)];
    if (host.includes(':')) throw fail('an IPv6 address must be in brackets, e.g. [::1]:8787');
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) throw fail('the port must be a number from 0 to 65535');
  if (v6 && isIP(host) !== 6) throw fail(`${host} is not an IPv6 address`);
  if (!v6 && !isIP(host) && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) throw fail(`${host} is not an address or host name`);
  return { host, port: Number(portText), loopback: isLoopbackHost(host) };
}

/** 127.0.0.0/8, ::1 (and its long forms, and ::ffff:127.x), or the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return /^(0{0,4}:){2,7}0{0,3}1$/.test(h) || /^::ffff:127\./.test(h);
  return false;
}

/**
 * The tokens of PLANEXEC_HTTP_TOKEN: one token (requester DEFAULT_REQUESTER), or one `name=token` per
 * line. The rule, for every line: its first `=` separates a name from a token, unless every `=` of
 * the line is at its end (base64 padding: `...Cg==` is one token). So a single line `alice=<token>`
 * is named, and one whose name is not a requester name is refused, never taken whole as a token
 * (a token with `=` elsewhere is given a name: `name=a=b...`, split at the first `=`). Throws
 * ConfigError naming the variable, never quoting a token: a token under MIN_TOKEN_CHARS or with
 * spaces, a bad name, a line of several that is not name=token, a name or a token given twice.
 */
export function parseHttpTokens(value: string | undefined): HttpToken[] {
  const lines = (value ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) return [];
  const named = (line: string) => {
    const eq = line.indexOf('=');
    return eq < 0 || /^=+$/.test(line.slice(eq)) ? null : { name: line.slice(0, eq).trim(), token: line.slice(eq + 1).trim() };
  };
  const entries =
    lines.length > 1
      ? lines.map((line, i) => {
          const entry = named(line);
          if (!entry) throw new ConfigError(`PLANEXEC_HTTP_TOKEN: line ${i + 1} is not name=token. With several tokens, write one name=token per line (the name is the requester the ledger shows).`);
          return entry;
        })
      : [named(lines[0]!) ?? { name: DEFAULT_REQUESTER, token: lines[0]! }];
  const names = new Set<string>();
  const tokens = new Set<string>();
  for (const [i, { name, token }] of entries.entries()) {
    const where = entries.length > 1 ? `PLANEXEC_HTTP_TOKEN line ${i + 1} (${REQUESTER_NAME.test(name) ? name : 'bad name'})` : 'PLANEXEC_HTTP_TOKEN';
    if (!REQUESTER_NAME.test(name)) {
      throw new ConfigError(
        `${where}: the text before the first '=' is a requester name, and a name is 1 to 64 letters, digits, '.', '_', '@' or '-' (no spaces), starting with a letter or digit. A token without a name may have '=' only at its end (base64 padding); give any other token a name: name=token.`,
      );
    }
    if (token.length < MIN_TOKEN_CHARS || /\s/.test(token)) {
      throw new ConfigError(`${where}: a token must be at least ${MIN_TOKEN_CHARS} characters without spaces. Make one with: openssl rand -hex 32`);
    }
    if (names.has(name)) throw new ConfigError(`${where}: the name ${name} is given twice; give each requester one name.`);
    if (tokens.has(token)) throw new ConfigError(`${where}: the same token is given twice; give each requester its own token.`);
    names.add(name);
    tokens.add(token);
  }
  return entries.map(({ name, token }) => {
    const out = { name } as HttpToken;
    Object.defineProperty(out, 'token', { value: token, enumerable: false });
    return out;
  });
}

/**
 * The HTTP settings, or null for stdio (no address set). Throws ConfigError naming the setting: a
 * bad address or origin, a bad PLANEXEC_HTTP_TOKEN, and a non-loopback address without a token
 * (anyone who reached it could spend the configured keys). Adds a warning for a loopback server
 * without a token (any local user or program can use it), and for no configured root (a client's
 * MCP root names the folder read, anywhere on this machine).
 */
function httpConfig(
  c: FileConfig,
  env: Readonly<Record<string, string | undefined>>,
  at: { sourceOf: (key: keyof FileConfig) => string | null; warnings: string[] },
): HttpSettings | null {
  if (c.http === undefined) return null;
  const source = at.sourceOf('http')!;
  const { host, port, loopback } = parseListenAddress(c.http, source);
  const tokens = parseHttpTokens(env.PLANEXEC_HTTP_TOKEN);
  if (!loopback && tokens.length === 0) {
    throw new ConfigError(
      `${source} ${c.http}: ${host} is not a loopback address and PLANEXEC_HTTP_TOKEN is not set, so anyone who can reach the port could run workflows on your keys. Set PLANEXEC_HTTP_TOKEN (e.g. openssl rand -hex 32; see the README, "Team server"), or bind 127.0.0.1.`,
    );
  }
  if (tokens.length === 0) at.warnings.push(`${source}: PLANEXEC_HTTP_TOKEN is not set, so any program on this machine can use the server; set it to ask every request for a bearer token.`);
  if (at.sourceOf('root') === null) {
    at.warnings.push(
      `${source}: PLANEXEC_ROOT is not set, so each session's root is the folder its host names as MCP root: any client can have the models read a folder of this machine. Set PLANEXEC_ROOT to the project checkout the team works on.`,
    );
  }
  const originsSource = at.sourceOf('httpAllowedOrigins') ?? 'PLANEXEC_HTTP_ALLOWED_ORIGINS';
  const allowedOrigins = (c.httpAllowedOrigins ?? []).map((o) => {
    let url: URL | null = null;
    try {
      url = new URL(o);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== o.replace(/\/$/, '')) {
      throw new ConfigError(`${originsSource}: ${o} is not an origin. Write scheme://host[:port] with no path, e.g. https://tools.example.com, separated by commas.`);
    }
    return url.origin;
  });
  const out = { host, port, loopback, source, allowedOrigins } as Omit<HttpSettings, 'tokens'>;
  Object.defineProperty(out, 'tokens', { value: tokens, enumerable: false });
  return out as HttpSettings;
}
// ---------------------------------------------------------------------------------------------

const PriceSchema = z.strictObject({
  input: z.number().nonnegative(),
  cached: z.number().nonnegative(),
  output: z.number().nonnegative(),
  quota: z.number().nonnegative(),
});

/**
 * The commands as given, each checked to run without a shell (splitCommand, as a check will run);
 * throws ConfigError naming `setting` and the command at fault, at start-up rather than at the first
 * workflow.
 */
function checkedCommands(commands: readonly string[], setting: string): string[] {
  for (const command of commands) {
    try {
      splitCommand(command);
    } catch (error) {
      throw new ConfigError(`${setting}: ${(error as Error).message}`);
    }
  }
  return [...commands];
}

/**
 * The PLANEXEC_ALLOWED_CHECKS patterns as given, each checked to split as a check would (an unquoted
 * '*' is the wildcard: splitPattern); a pattern that cannot would never match, so it is refused at
 * start-up with a ConfigError naming `setting` and the pattern.
 */
function checkedPatterns(patterns: readonly string[], setting: string): string[] {
  for (const pattern of patterns) {
    try {
      splitPattern(pattern);
    } catch (error) {
      throw new ConfigError(`${setting}: ${(error as Error).message.replace(/^Check command/, 'Pattern')}`);
    }
  }
  return [...patterns];
}

/** A list of commands: a JSON array (config file), or one command per line (environment). */
const commandList = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(/\r?\n/).map((x) => x.trim()).filter(Boolean) : v),
  z.array(z.string().trim().min(1)),
);

/** What a config file may hold; every key optional. */
export const FileConfigSchema = z.strictObject({
  plannerModel: z.string().min(1).optional(),
  executorModel: z.string().min(1).optional(),
  db: z.string().min(1).optional(),
  root: z.string().min(1).optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  modelTimeoutMs: positiveInt.optional(),
  maxRetries: z.coerce.number().int().min(0).max(10).optional(),
  maxFileBytes: positiveInt.optional(),
  maxContextBytes: positiveInt.optional(),
  concurrency: z.coerce.number().int().min(1).max(32).optional(),
  ladder: z
    .preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()) : v), z.array(z.enum(['executor', 'planner'])).min(1).max(10))
    .optional(),
  leaseMs: z.coerce.number().int().min(200).optional(),
  progressIntervalMs: z.coerce.number().int().min(10).optional(),
  plannerContextLimit: positiveInt.optional(),
  compactAt: z.coerce.number().gt(0).lte(1).optional(),
  plannerTokenBudget: positiveInt.optional(),
  executorTokenBudget: positiveInt.optional(),
  plannerMaxOutputTokens: positiveInt.optional(),
  executorMaxOutputTokens: positiveInt.optional(),
  prices: z.record(z.string(), PriceSchema).optional(),
  extendedCacheModels: z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v), z.array(z.string())).optional(),
  cachePriming: onOff.optional(),
  allowSecretFiles: onOff.optional(),
  allowHardLinks: onOff.optional(),
  // Changes (PRODUCT.md "Changes"). Lists: JSON arrays in the file, one command per line in the env.
  changes: z.enum(['worktree', 'off']).optional(),
  checks: commandList.optional(),
  allowedChecks: commandList.optional(),
  checkTimeoutMs: positiveInt.optional(),
  worktrees: z.string().min(1).optional(),
  worktreeSetup: z.string().min(1).optional(),
  checkSandbox: z.enum(['auto', 'namespace', 'off']).optional(),
  requester: z.string().trim().min(1).optional(),
  ...PROVIDER_FILE_SHAPE,
  ...HTTP_FILE_SHAPE,
});
/**
 * The settings as parsed from one source (config file, environment, command line), every key optional;
 * loadConfig merges the three (command line over environment over file) and fills in the defaults.
 */
export type FileConfig = z.infer<typeof FileConfigSchema>;

/**
 * The configuration of a start (loadConfig): deep-frozen, defaults filled in (the README's settings
 * table lists each variable and default). Times in ms, sizes in UTF-8 bytes, budgets in tokens.
 * `dbUrl`, `secrets` and `openai.apiKey` are not enumerable, so they never show in a log of it.
 */
export interface Config {
  /**
   * The model requests' settings: apiKey (OPENAI_API_KEY, not enumerable), baseURL (OPENAI_BASE_URL;
   * undefined: the SDK's default), timeoutMs of one request of any provider, the whole answer
   * included (PLANEXEC_MODEL_TIMEOUT_MS, default 600,000), maxRetries of the SDK on 429, 5xx and
   * connection errors (PLANEXEC_MAX_RETRIES, 0-10, default 2).
   */
  openai: { apiKey: string | undefined; baseURL: string | undefined; timeoutMs: number; maxRetries: number };
  /** Model names (PLANEXEC_PLANNER_MODEL, PLANEXEC_EXECUTOR_MODEL; PRODUCT.md's defaults gpt-5.4 and gpt-5.4-mini). */
  models: { planner: string; executor: string };
  /**
   * The SQLite file (or ':memory:'); for PostgreSQL (dbUrl set), the URL with its password masked,
   * which is what logs and messages show.
   */
  dbPath: string;
  /**
   * The PostgreSQL URL, password included, when PLANEXEC_DB (--db, "db") is a postgres:// or
   * postgresql:// URL; null: SQLite at dbPath. Not enumerable, so it never shows up when the config
   * is serialised or logged; its password is one of `secrets`.
   */
  readonly dbUrl: string | null;
  /**
   * The workspace root of sessions whose host names no MCP root: the configured one (PLANEXEC_ROOT,
   * --root, "root" in the config file), else the working folder, except when that is / or the home
   * folder (or a folder above it), which is never taken as an implied root: then null (no files).
   */
  root: string | null;
  /**
   * The setting each path came from, named as the user wrote it ('PLANEXEC_ROOT', '--root',
   * '"root" in the config file /x.json'); null when it is the default. An explicit root wins over
   * the client's MCP roots; a default one does not.
   */
  sources: { root: string | null; db: string | null; worktrees: string | null };
  /** Start-up warnings about the configuration (an explicit root of / or the home folder). */
  warnings: string[];
  /** What the workspace reader may send: files that hold secrets by convention, files with several hard links. */
  files: { allowSecretFiles: boolean; allowHardLinks: boolean };
  /** The pino level of the stderr log (PLANEXEC_LOG_LEVEL, default info). */
  logLevel: (typeof LOG_LEVELS)[number];
  /** Subtasks run_workflow executes at once. */
  concurrency: number;
  /** Role of each attempt of a routine subtask (review's revise climbs it); past the end, a human decides. */
  ladder: Array<'executor' | 'planner'>;
  /** Token budgets of a new workflow unless its call sets them. */
  defaultBudget: { planner_tokens?: number; executor_tokens?: number };
  /** The planner thread is compacted when a call would carry more than `at` x contextLimit (or x the planner budget). */
  compaction: { contextLimit: number | undefined; at: number };
  /** A process whose heartbeat is older than this is considered dead and its work taken over. */
  leaseMs: number;
  /** Progress notifications repeat at least this often while a model call is in flight. */
  progressIntervalMs: number;
  /** What one model call or tool result carries at most. */
  limits: {
    /** UTF-8 bytes of one workspace file shown to a model (PLANEXEC_MAX_FILE_BYTES, default 65,536). */
    maxFileBytes: number;
    /** UTF-8 bytes of all files of one model call (PLANEXEC_MAX_CONTEXT_BYTES, default 262,144). */
    maxContextBytes: number;
    /** Characters of each dependency's output an executor is shown (32,000; planexec's choice, not a setting). */
    maxDependencyChars: number;
    /** Characters of each subtask's output a review shows the planner (24,000; planexec's choice, not a setting). */
    reviewOutputChars: number;
    /** UTF-8 bytes of one page of a subtask's output in a tool result (6,000: the README's "Bounded results"). */
    resultBytes: number;
    /** `max_output_tokens` per role (PLANEXEC_<ROLE>_MAX_OUTPUT_TOKENS); undefined: left to the provider. */
    maxOutputTokens: { planner: number | undefined; executor: number | undefined };
  };
  /**
   * USD per 1M tokens (input, cached, output) and quota units per call, by model: DEFAULT_PRICES
   * (src/core/cost.ts, OpenAI's list prices) with the config file's `prices` over them.
   */
  prices: Record<string, z.infer<typeof PriceSchema>>;
  /** Models sent prompt_cache_retention "24h". */
  extendedCacheModels: string[];
  /** In a wave, run the first of the subtasks that share files before the others (prefix-cache hits). */
  cachePriming: boolean;
  /** Changes: worktrees, checks, the setup command (PLANEXEC_CHANGES, PLANEXEC_CHECKS, ...). */
  changes: {
    /** PLANEXEC_CHANGES (default worktree): whether a workflow in a git repository edits code in a worktree of its own. */
    mode: 'worktree' | 'off';
    /** PLANEXEC_CHECKS: commands (no shell) run in the worktree after every attempt that changed files; always allowed. */
    hostChecks: string[];
    /** PLANEXEC_ALLOWED_CHECKS: patterns ('*': any run of characters) of the planner's proposed checks (and, over HTTP, a request's) that may run. */
    allowedChecks: string[];
    /** PLANEXEC_CHECK_TIMEOUT_MS (default 600,000): a check or the setup command is killed, process group and all, after this. */
    checkTimeoutMs: number;
    /** PLANEXEC_WORKTREES, absolute: the folder of the workflows' worktrees (default $XDG_STATE_HOME/planexec/worktrees). */
    worktreesDir: string;
    /** PLANEXEC_WORKTREE_SETUP: a command run once in each new worktree; null: ignored dependency folders are linked in instead. */
    setup: string | null;
    /** PLANEXEC_CHECK_SANDBOX: run checks and the setup command in a PID namespace ('auto': when the machine allows it). */
    sandbox: 'auto' | 'namespace' | 'off';
  };
  /**
   * Secret values to mask in every text that leaves planexec (see secretValues); not enumerable, so
   * it never shows up when the config is serialised or logged.
   */
  readonly secrets: readonly string[];
  /** Each role's model provider and endpoint (see "Providers" below). */
  providers: Readonly<Record<Role, RoleProviderConfig>>;
  /** PLANEXEC_CODEX_BIN, `~` expanded; undefined: `codex` on PATH. */
  codexBin: string | undefined;
  /** PLANEXEC_REQUESTER: who this server's requests come from when no HTTP token names them (src/mcp/requester.ts). */
  requester: string | null;
  /** Streamable HTTP (--http, PLANEXEC_HTTP); null: MCP over stdio. */
  http: HttpSettings | null;
}

// Environment variable -> config key. Unset or empty variables are ignored.
const ENV_KEYS: Record<string, keyof FileConfig> = {
  PLANEXEC_PLANNER_MODEL: 'plannerModel',
  PLANEXEC_EXECUTOR_MODEL: 'executorModel',
  PLANEXEC_DB: 'db',
  PLANEXEC_ROOT: 'root',
  PLANEXEC_LOG_LEVEL: 'logLevel',
  PLANEXEC_MODEL_TIMEOUT_MS: 'modelTimeoutMs',
  PLANEXEC_MAX_RETRIES: 'maxRetries',
  PLANEXEC_MAX_FILE_BYTES: 'maxFileBytes',
  PLANEXEC_MAX_CONTEXT_BYTES: 'maxContextBytes',
  PLANEXEC_CONCURRENCY: 'concurrency',
  PLANEXEC_EXTENDED_CACHE_MODELS: 'extendedCacheModels',
  PLANEXEC_CACHE_PRIMING: 'cachePriming',
  PLANEXEC_LADDER: 'ladder',
  PLANEXEC_LEASE_MS: 'leaseMs',
  PLANEXEC_PROGRESS_INTERVAL_MS: 'progressIntervalMs',
  PLANEXEC_PLANNER_CONTEXT_LIMIT: 'plannerContextLimit',
  PLANEXEC_COMPACT_AT: 'compactAt',
  PLANEXEC_PLANNER_TOKEN_BUDGET: 'plannerTokenBudget',
  PLANEXEC_EXECUTOR_TOKEN_BUDGET: 'executorTokenBudget',
  PLANEXEC_PLANNER_MAX_OUTPUT_TOKENS: 'plannerMaxOutputTokens',
  PLANEXEC_EXECUTOR_MAX_OUTPUT_TOKENS: 'executorMaxOutputTokens',
  PLANEXEC_ALLOW_SECRET_FILES: 'allowSecretFiles',
  PLANEXEC_ALLOW_HARDLINKS: 'allowHardLinks',
  PLANEXEC_CHANGES: 'changes',
  PLANEXEC_CHECKS: 'checks',
  PLANEXEC_ALLOWED_CHECKS: 'allowedChecks',
  PLANEXEC_CHECK_TIMEOUT_MS: 'checkTimeoutMs',
  PLANEXEC_WORKTREES: 'worktrees',
  PLANEXEC_WORKTREE_SETUP: 'worktreeSetup',
  PLANEXEC_CHECK_SANDBOX: 'checkSandbox',
  PLANEXEC_REQUESTER: 'requester',
  ...PROVIDER_ENV_KEYS,
  ...HTTP_ENV_KEYS,
};
/** Config keys the command line can set, and their flags. */
const FLAGS: Partial<Record<keyof FileConfig, string>> = { db: '--db', root: '--root', http: '--http' };

/** A setting is wrong; the message names it and says what to do. main() exits with code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Where loadConfig's settings come from besides the environment. */
export interface LoadOptions {
  /** Parsed JSON of the config file, if any. */
  file?: unknown;
  /** Where the file came from, for error messages. */
  fileName?: string;
  /** The setting that named the file ('PLANEXEC_CONFIG' or '--config'), for error messages. */
  fileSetting?: string;
  /** Command-line overrides (highest precedence). */
  overrides?: FileConfig;
  /** The folder relative paths are resolved from (default process.cwd()). */
  cwd?: string;
}

/**
 * The configuration from the environment, a config file and command-line overrides. Pure apart from
 * resolving real paths (to tell whether the working folder is / or the home folder): nothing is
 * created or checked here (see checkPaths). `~` and `~/x` in PLANEXEC_DB, PLANEXEC_ROOT and
 * XDG_STATE_HOME (and their file and flag forms) are expanded from the env's HOME (default: the
 * user's home folder). Throws ConfigError naming every bad setting.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, opts: LoadOptions = {}): Readonly<Config> {
  const fileLabel = opts.fileName ? `config file ${opts.fileName}${opts.fileSetting ? ` (${opts.fileSetting})` : ''}` : 'config file';
  const file = parse(FileConfigSchema, opts.file ?? {}, fileLabel);
  const fromEnv: Record<string, string> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name]?.trim();
    if (value) fromEnv[key] = value;
  }
  const envName = (key: string) => Object.keys(ENV_KEYS).find((n) => ENV_KEYS[n] === key) ?? key;
  const envConfig = parse(FileConfigSchema, fromEnv, 'environment', envName);
  const overrides = parse(FileConfigSchema, opts.overrides ?? {}, 'command line', (key) => FLAGS[key as keyof FileConfig] ?? key);
  const c: FileConfig = { ...file, ...envConfig, ...overrides };
  const cwd = opts.cwd ?? process.cwd();
  const home = homeOf(env);
  /** The setting that gave `key`, as the user wrote it; null for the default. */
  const sourceOf = (key: keyof FileConfig): string | null =>
    overrides[key] !== undefined ? (FLAGS[key] ?? key) : envConfig[key] !== undefined ? envName(key) : file[key] !== undefined ? `"${key}" in the ${fileLabel}` : null;
  const sources = { root: sourceOf('root'), db: sourceOf('db'), worktrees: sourceOf('worktrees') };

  const xdg = env.XDG_STATE_HOME?.trim();
  const stateHome = xdg ? resolve(cwd, expandHome(xdg, home, 'XDG_STATE_HOME')) : join(home, '.local', 'state');
  const dbUrl = c.db !== undefined && isPostgresUrl(c.db) ? postgresUrl(c.db.trim(), sources.db!) : null;
  const dbPath = dbUrl
    ? maskPostgresUrl(dbUrl, { whole: true })
    : c.db === ':memory:'
      ? ':memory:'
      : resolve(cwd, expandHome(c.db ?? join(stateHome, 'planexec', 'state.db'), home, sources.db ?? 'PLANEXEC_DB'));
  const warnings: string[] = [];
  let root: string | null;
  if (c.root !== undefined) {
    root = resolve(cwd, expandHome(c.root, home, sources.root!));
    const broad = broadFolder(root, home);
    if (broad) {
      warnings.push(
        `${sources.root} is ${root}, ${broad}: any file under it can be sent to the model (files that hold secrets by convention are still withheld). Set it to the project folder unless you mean it.`,
      );
    }
  } else {
    // Hosts start servers in / (Claude Desktop) or the home folder: never an implied root.
    root = broadFolder(cwd, home) ? null : resolve(cwd);
  }

  const openai = {
    baseURL: env.OPENAI_BASE_URL?.trim() || undefined,
    timeoutMs: c.modelTimeoutMs ?? 600_000,
    maxRetries: c.maxRetries ?? 2,
  } as Config['openai'];
  // Not enumerable: the key never shows up when the config is serialised or logged.
  Object.defineProperty(openai, 'apiKey', { value: env.OPENAI_API_KEY?.trim() || undefined, enumerable: false });
  const config = {
    openai,
    models: { planner: c.plannerModel ?? 'gpt-5.4', executor: c.executorModel ?? 'gpt-5.4-mini' },
    dbPath,
    root,
    sources,
    warnings,
    files: { allowSecretFiles: c.allowSecretFiles ?? false, allowHardLinks: c.allowHardLinks ?? false },
    logLevel: c.logLevel ?? 'info',
    concurrency: c.concurrency ?? 4,
    ladder: c.ladder ?? ['executor', 'executor', 'planner'],
    compaction: { contextLimit: c.plannerContextLimit, at: c.compactAt ?? 0.8 },
    defaultBudget: {
      ...(c.plannerTokenBudget ? { planner_tokens: c.plannerTokenBudget } : {}),
      ...(c.executorTokenBudget ? { executor_tokens: c.executorTokenBudget } : {}),
    },
    leaseMs: c.leaseMs ?? 15_000,
    progressIntervalMs: c.progressIntervalMs ?? 10_000,
    limits: {
      maxFileBytes: c.maxFileBytes ?? 64 * 1024,
      maxContextBytes: c.maxContextBytes ?? 256 * 1024,
      maxDependencyChars: 32_000,
      reviewOutputChars: 24_000,
      resultBytes: 6_000,
      maxOutputTokens: { planner: c.plannerMaxOutputTokens, executor: c.executorMaxOutputTokens },
    },
    prices: Object.fromEntries(Object.entries({ ...DEFAULT_PRICES, ...(c.prices ?? {}) }).map(([model, price]) => [model, { ...price }])),
    extendedCacheModels: [...(c.extendedCacheModels ?? ['gpt-5.4'])],
    cachePriming: c.cachePriming ?? true,
    changes: {
      mode: c.changes ?? 'worktree',
      hostChecks: checkedCommands(c.checks ?? [], 'PLANEXEC_CHECKS (or "checks" in the config file)'),
      allowedChecks: checkedPatterns(c.allowedChecks ?? [], 'PLANEXEC_ALLOWED_CHECKS (or "allowedChecks" in the config file)'),
      checkTimeoutMs: c.checkTimeoutMs ?? 600_000,
      worktreesDir: resolve(cwd, expandHome(c.worktrees ?? join(stateHome, 'planexec', 'worktrees'), home, sources.worktrees ?? 'PLANEXEC_WORKTREES')),
      setup: c.worktreeSetup ? checkedCommands([c.worktreeSetup], 'PLANEXEC_WORKTREE_SETUP (or "worktreeSetup" in the config file)')[0]! : null,
      sandbox: c.checkSandbox ?? 'auto',
    },
    requester: c.requester ?? null,
    ...providerConfig(c, env, { sourceOf, home, warnings }),
    http: httpConfig(c, env, { sourceOf, warnings }),
  } as Omit<Config, 'secrets'> as Config;
  const secrets = [...new Set([...secretValues(env), ...(dbUrl ? postgresPassword(dbUrl) : [])])].sort((a, b) => b.length - a.length);
  Object.defineProperty(config, 'secrets', { value: secrets, enumerable: false });
  Object.defineProperty(config, 'dbUrl', { value: dbUrl, enumerable: false });
  return deepFreeze(config);
}

/**
 * A PostgreSQL URL as given in `setting`, checked to parse as a URL (postgres:///db?host=/socket/dir
 * names no host and is fine) whose path and fragment hold no '@': one there means a password with an
 * unencoded '/' or '#', which a URL parser takes for the end of the host, so that part of the
 * password would be taken for the host (and shown in errors). Throws ConfigError naming the setting,
 * the URL shown with its password masked, and how to encode the password.
 */
function postgresUrl(url: string, setting: string): string {
  const refuse = (why: string) =>
    new ConfigError(
      `${setting} ${maskPostgresUrl(url, { whole: true })}: ${why}. Write it as postgres://user:password@host:5432/database, the password percent-encoded (/ as %2F, ? as %3F, # as %23, @ as %40, : as %3A, % as %25).`,
    );
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse('not a valid PostgreSQL URL');
  }
  if (parsed.pathname.includes('@') || parsed.hash.includes('@')) throw refuse("not a valid PostgreSQL URL: an '@' after the host (a password with an unencoded '/' or '#'?)");
  return url;
}

/**
 * Reads and parses the JSON config file named by `setting` ('PLANEXEC_CONFIG' or '--config'):
 * `~` expanded from the env's HOME, a relative path taken from `cwd`. Throws ConfigError naming the
 * setting and the file when it cannot be read or is not JSON.
 */
export function readConfigFile(path: string, setting: string, env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): { file: unknown; fileName: string } {
  const fileName = resolve(cwd, expandHome(path, homeOf(env), setting));
  let text: string;
  try {
    text = readFileSync(fileName, 'utf8');
  } catch (error) {
    throw new ConfigError(`${setting} ${fileName}: cannot read the config file (${describeFsError(error)}). Point ${setting} at a readable JSON file, or leave it unset.`);
  }
  try {
    return { file: JSON.parse(text), fileName };
  } catch (error) {
    throw new ConfigError(`${setting} ${fileName}: the config file is not valid JSON (${(error as Error).message}). Fix the file, or leave ${setting} unset.`);
  }
}

/**
 * Checks, at start-up, that the paths of `config` can be used, so a wrong setting is named before
 * anything else fails: the root must be an existing folder; the database's folder is created (0700,
 * as the store would) and must take new files (a probe file is made and removed: SQLite makes its
 * -wal and -shm files there, and root passes every permission check on folders that still refuse
 * new files, such as /proc), and an existing database file must be readable and writable.
 * Throws ConfigError naming the setting at fault and what to do.
 */
export function checkPaths(config: Readonly<Config>): void {
  if (config.root !== null) {
    const setting = config.sources.root ?? 'PLANEXEC_ROOT';
    let isFolder: boolean;
    try {
      isFolder = statSync(config.root).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new ConfigError(`${setting} ${config.root}: no such folder. Set ${setting} to your project folder (an absolute path or ~/...), then restart.`);
      throw new ConfigError(`${setting} ${config.root}: cannot be used (${describeFsError(error)}). Set ${setting} to a project folder you can read, then restart.`);
    }
    if (!isFolder) throw new ConfigError(`${setting} ${config.root}: not a folder. Set ${setting} to your project folder, not a file in it, then restart.`);
  }
  if (config.dbPath === ':memory:' || config.dbUrl) return;
  const setting = config.sources.db ?? 'PLANEXEC_DB';
  const what = config.sources.db ? `${setting} ${config.dbPath}` : `the database ${config.dbPath} (the default of ${setting})`;
  const fix = `Set ${setting} to a file in a folder you can write (e.g. ~/.local/state/planexec/state.db), then restart.`;
  const folder = dirname(config.dbPath);
  try {
    makeFolders(folder, 0o700);
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new ConfigError(`${what}: its folder ${folder} cannot be created or written (${describeCreateError(error)}). ${fix}`);
  }
  const probe = join(folder, `.planexec-probe-${process.pid}-${Date.now().toString(36)}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
  } catch (error) {
    throw new ConfigError(`${what}: the database and its -wal and -shm files cannot be created in ${folder} (${describeCreateError(error)}). ${fix}`);
  }
  rmSync(probe, { force: true });
  let isFile = true;
  try {
    isFile = statSync(config.dbPath).isFile();
    accessSync(config.dbPath, constants.R_OK | constants.W_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ConfigError(`${what}: cannot be opened for reading and writing (${describeFsError(error)}). ${fix}`);
  }
  if (!isFile) throw new ConfigError(`${what}: is not a file. ${fix}`);
}

/**
 * `mkdir -p`, one folder at a time (each made with `mode`), failing at the first folder that cannot be
 * made. Not mkdirSync's `recursive`: on Node 20 it loops forever (at full CPU) when a folder exists but
 * answers ENOENT for a new entry in it, as /proc/1 does for /proc/1/x. Throws the errno error (ENOTDIR
 * when a part of the path is a file).
 */
function makeFolders(folder: string, mode: number): void {
  const missing: string[] = [];
  for (let at = resolve(folder); ; at = dirname(at)) {
    let stat;
    try {
      stat = statSync(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw error;
      missing.push(at);
      continue;
    }
    if (!stat.isDirectory()) throw Object.assign(new Error(`${at} is not a folder`), { code: 'ENOTDIR', path: at });
    break;
  }
  for (const at of missing.reverse()) {
    try {
      mkdirSync(at, { mode });
    } catch (error) {
      // Made meanwhile by another process: fine, if it is a folder.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(at).isDirectory()) throw error;
    }
  }
}

/** describeFsError for an error met while creating a file or folder: ENOENT there means the folder refuses new entries (procfs, sysfs). */
function describeCreateError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' && e.syscall !== 'stat') return `ENOENT: ${e.path ? dirname(e.path) : 'the folder'} takes no new entries; a virtual file system such as /proc?`;
  return describeFsError(error);
}

// Variables whose values are secrets whatever their length (4+ characters, see redactSecrets)...
const NAMED_SECRETS = /^(OPENAI_API_KEY|PLANEXEC_HTTP_TOKEN|PLANEXEC_\w+_API_KEY)$/;
// ...and, at 8 characters or more, those whose name says they hold one (as run-command's SCRUBBED_ENV).
const SECRET_NAME = /_(API_?KEY|API_?TOKEN|ACCESS_?KEY|SECRET_?KEY|PRIVATE_?KEY|SECRET|TOKEN|PASSWORD|PASSWD)$/i;

/**
 * The secret values of an environment, longest first: OPENAI_API_KEY, PLANEXEC_*_API_KEY and
 * PLANEXEC_HTTP_TOKEN, and any variable named like a secret (…_API_KEY, …_TOKEN, …_SECRET,
 * …_PASSWORD, …) whose value has 8 characters or more (shorter ones would mask ordinary words).
 * Values are trimmed. Pure.
 */
export function secretValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const out = new Set<string>();
  for (const [name, raw] of Object.entries(env)) {
    const value = raw?.trim();
    if (value && (NAMED_SECRETS.test(name) ? value.length >= 4 : SECRET_NAME.test(name) && value.length >= 8)) out.add(value);
    // Several `name=token` lines: each line and each token is a secret on its own (names are not).
    if (value && name === 'PLANEXEC_HTTP_TOKEN') {
      for (const line of value.split(/\r?\n/).map((l) => l.trim())) {
        const token = line.slice(line.indexOf('=') + 1).trim();
        if (line.length >= 4) out.add(line);
        if (token.length >= 4) out.add(token);
      }
    }
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** The home folder `~` stands for: the env's HOME, else the user's (os.homedir). */
export function homeOf(env: Readonly<Record<string, string | undefined>>): string {
  return env.HOME?.trim() || homedir();
}

/**
 * `path` with a leading `~` or `~/` replaced by `home`; other paths unchanged. Throws ConfigError
 * naming `setting` for `~user` (whose home folder planexec does not look up).
 */
export function expandHome(path: string, home: string, setting: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/') || (sep === '\\' && path.startsWith('~\\'))) return join(home, path.slice(2));
  if (path.startsWith('~')) throw new ConfigError(`${setting} ${path}: "~name" is not expanded (only ~ and ~/ are, from HOME). Write the full path.`);
  return path;
}

/**
 * Why `folder` is too broad to be a workspace root, or null: the root of a file system, the home
 * folder, or a folder above it. Real paths are compared (a symlink to home is home).
 */
export function broadFolder(folder: string, home: string): string | null {
  const real = realOrResolved(folder);
  if (parsePath(real).root === real) return 'the root of the file system';
  const realHome = realOrResolved(home);
  if (real === realHome) return 'your home folder';
  const down = relative(real, realHome);
  if (down && !down.startsWith('..') && !isAbsolute(down)) return 'a folder that holds your home folder';
  return null;
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const messages: Record<string, string> = {
    ENOENT: 'it does not exist',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EISDIR: 'it is a folder',
    EROFS: 'read-only file system',
    ELOOP: 'too many symlinks',
  };
  return e.code ? `${e.code}: ${messages[e.code] ?? e.message}` : String(e.message ?? error);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const key of Object.getOwnPropertyNames(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string, name: (key: string) => string = (k) => k): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => {
    const [first, ...rest] = i.path.map(String);
    const where = first === undefined ? '' : `${[name(first), ...rest].join('.')}: `;
    return `${where}${plainIssue(i, schema)}`;
  });
  throw new ConfigError(`Invalid configuration in the ${where}: ${problems.join('; ')}`);
}

/** A zod issue of a setting in words a user acts on: what the value must be, and what it was. */
function plainIssue(issue: z.core.$ZodIssue, schema: z.ZodType): string {
  const input = 'input' in issue ? issue.input : undefined;
  const got = input === undefined ? '' : typeof input === 'number' && Number.isNaN(input) ? ' (got something that is not a number)' : ` (got ${JSON.stringify(input)})`;
  if (issue.code === 'invalid_type' && issue.expected === 'number') return `must be a whole number${got}`;
  if (issue.code === 'invalid_type' && issue.expected === 'boolean') return `must be on or off (or true/false, 1/0)${got}`;
  if (issue.code === 'too_small' && issue.origin === 'number') return `must be at least ${issue.inclusive ? issue.minimum : Number(issue.minimum) + 1}${got}`;
  if (issue.code === 'unrecognized_keys') {
    const known = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
    return issue.keys
      .map((key) => {
        const near = closest(key, known);
        const secret = /key|token|secret|password/i.test(key) ? ' Keys and tokens are read from the environment only, never from the file.' : '';
        return `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}.${secret} The keys are: ${known.join(', ')}`;
      })
      .join('; ');
  }
  return issue.message;
}

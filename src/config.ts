// Configuration: defaults < config file (PLANEXEC_CONFIG or --config) < environment < command line.
// The environment is passed in, never read from process.env here, so tests can build any config.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_PRICES } from './core/cost.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const positiveInt = z.coerce.number().int().positive();

const PriceSchema = z.strictObject({
  input: z.number().nonnegative(),
  cached: z.number().nonnegative(),
  output: z.number().nonnegative(),
  quota: z.number().nonnegative(),
});

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
  cachePriming: z.preprocess((v) => (v === 'on' || v === 'true' || v === '1' ? true : v === 'off' || v === 'false' || v === '0' ? false : v), z.boolean()).optional(),
});
export type FileConfig = z.infer<typeof FileConfigSchema>;

export interface Config {
  openai: { apiKey: string | undefined; baseURL: string | undefined; timeoutMs: number; maxRetries: number };
  models: { planner: string; executor: string };
  dbPath: string;
  root: string;
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
  limits: {
    maxFileBytes: number;
    maxContextBytes: number;
    maxDependencyChars: number;
    reviewOutputChars: number;
    resultBytes: number;
    maxOutputTokens: { planner: number | undefined; executor: number | undefined };
  };
  prices: Record<string, z.infer<typeof PriceSchema>>;
  /** Models sent prompt_cache_retention "24h". */
  extendedCacheModels: string[];
  /** In a wave, run the first of the subtasks that share files before the others (prefix-cache hits). */
  cachePriming: boolean;
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
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadOptions {
  /** Parsed JSON of the config file, if any. */
  file?: unknown;
  /** Where the file came from, for error messages. */
  fileName?: string;
  /** Command-line overrides (highest precedence). */
  overrides?: FileConfig;
  cwd?: string;
}

export function loadConfig(env: Readonly<Record<string, string | undefined>>, opts: LoadOptions = {}): Readonly<Config> {
  const file = parse(FileConfigSchema, opts.file ?? {}, opts.fileName ? `config file ${opts.fileName}` : 'config file');
  const fromEnv: Record<string, string> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name]?.trim();
    if (value) fromEnv[key] = value;
  }
  const envConfig = parse(FileConfigSchema, fromEnv, 'environment', (key) => Object.keys(ENV_KEYS).find((n) => ENV_KEYS[n] === key) ?? key);
  const overrides = parse(FileConfigSchema, opts.overrides ?? {}, 'command line');
  const c: FileConfig = { ...file, ...envConfig, ...overrides };
  const cwd = opts.cwd ?? process.cwd();

  const stateHome = env.XDG_STATE_HOME?.trim() || join(homedir(), '.local', 'state');
  const openai = {
    baseURL: env.OPENAI_BASE_URL?.trim() || undefined,
    timeoutMs: c.modelTimeoutMs ?? 600_000,
    maxRetries: c.maxRetries ?? 2,
  } as Config['openai'];
  // Not enumerable: the key never shows up when the config is serialised or logged.
  Object.defineProperty(openai, 'apiKey', { value: env.OPENAI_API_KEY?.trim() || undefined, enumerable: false });
  const config: Config = {
    openai,
    models: { planner: c.plannerModel ?? 'gpt-5.4', executor: c.executorModel ?? 'gpt-5.4-mini' },
    dbPath: c.db === ':memory:' ? ':memory:' : resolve(cwd, c.db ?? join(stateHome, 'planexec', 'state.db')),
    root: resolve(cwd, c.root ?? '.'),
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
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const key of Object.getOwnPropertyNames(value)) deepFreeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, where: string, name: (key: string) => string = (k) => k): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => {
    const [first, ...rest] = i.path.map(String);
    const where = first === undefined ? '' : `${[name(first), ...rest].join('.')}: `;
    return `${where}${i.message}`;
  });
  throw new ConfigError(`Invalid configuration in the ${where}: ${problems.join('; ')}`);
}

// loadConfig: defaults, each PLANEXEC_* variable, file < env < overrides, validation errors that name
// what is wrong, the price table merge, freezing, and what happens to OPENAI_API_KEY.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../src/config.js';
import { DEFAULT_PRICES } from '../../src/core/cost.js';

const CWD = resolve('/srv/project');

const load = (env: Record<string, string | undefined> = {}, opts: Parameters<typeof loadConfig>[1] = {}): Readonly<Config> =>
  loadConfig(env, { cwd: CWD, ...opts });

/** The ConfigError loadConfig throws (fails the test when it does not throw). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('defaults', () => {
  it('uses gpt-5.4 / gpt-5.4-mini, log level info, the cwd as root, and the state.db under ~/.local/state', async () => {
    const config = load();
    expect(config.models).toEqual({ planner: 'gpt-5.4', executor: 'gpt-5.4-mini' });
    expect(config.logLevel).toBe('info');
    expect(config.root).toBe(CWD);
    expect(config.dbPath).toBe(join(homedir(), '.local', 'state', 'planexec', 'state.db'));
  });

  it('puts the database under $XDG_STATE_HOME/planexec when it is set', async () => {
    expect(load({ XDG_STATE_HOME: '/var/xdg-state' }).dbPath).toBe(join('/var/xdg-state', 'planexec', 'state.db'));
  });

  it('has no API key or base URL, a 10 minute timeout, 2 retries, default limits, the default prices and no output caps', async () => {
    const config = load();
    expect(config.openai).toEqual({ apiKey: undefined, baseURL: undefined, timeoutMs: 600_000, maxRetries: 2 });
    expect(config.limits).toEqual({
      maxFileBytes: 64 * 1024,
      maxContextBytes: 256 * 1024,
      maxDependencyChars: 32_000,
      reviewOutputChars: 24_000,
      resultBytes: 6_000,
      maxOutputTokens: { planner: undefined, executor: undefined },
    });
    expect(config.prices).toEqual(DEFAULT_PRICES);
    expect(config.prices['gpt-5.4']).toEqual({ input: 2.5, cached: 0.25, output: 15, quota: 1 });
    expect(config.prices['gpt-5.4-mini']).toEqual({ input: 0.75, cached: 0.075, output: 4.5, quota: 0.3 });
    expect(config.extendedCacheModels).toEqual(['gpt-5.4']);
  });

  it('takes the process cwd as root when no cwd is given', async () => {
    expect(loadConfig({}).root).toBe(process.cwd());
  });
});

describe('environment variables', () => {
  it.each<[string, string, (c: Readonly<Config>) => unknown, unknown]>([
    ['PLANEXEC_PLANNER_MODEL', 'gpt-6', (c) => c.models.planner, 'gpt-6'],
    ['PLANEXEC_EXECUTOR_MODEL', 'gpt-6-nano', (c) => c.models.executor, 'gpt-6-nano'],
    ['PLANEXEC_DB', '/data/planexec.db', (c) => c.dbPath, '/data/planexec.db'],
    ['PLANEXEC_DB', 'state/relative.db', (c) => c.dbPath, join(CWD, 'state', 'relative.db')],
    ['PLANEXEC_DB', ':memory:', (c) => c.dbPath, ':memory:'],
    ['PLANEXEC_ROOT', '/work/repo', (c) => c.root, '/work/repo'],
    ['PLANEXEC_ROOT', 'sub/dir', (c) => c.root, join(CWD, 'sub', 'dir')],
    ['PLANEXEC_LOG_LEVEL', 'debug', (c) => c.logLevel, 'debug'],
    ['PLANEXEC_LOG_LEVEL', 'silent', (c) => c.logLevel, 'silent'],
    ['PLANEXEC_MODEL_TIMEOUT_MS', '30000', (c) => c.openai.timeoutMs, 30_000],
    ['PLANEXEC_MAX_RETRIES', '5', (c) => c.openai.maxRetries, 5],
    ['PLANEXEC_MAX_RETRIES', '0', (c) => c.openai.maxRetries, 0],
    ['PLANEXEC_MAX_FILE_BYTES', '1000', (c) => c.limits.maxFileBytes, 1000],
    ['PLANEXEC_MAX_CONTEXT_BYTES', '5000', (c) => c.limits.maxContextBytes, 5000],
    ['PLANEXEC_PLANNER_MAX_OUTPUT_TOKENS', '8000', (c) => c.limits.maxOutputTokens.planner, 8000],
    ['PLANEXEC_EXECUTOR_MAX_OUTPUT_TOKENS', '2000', (c) => c.limits.maxOutputTokens.executor, 2000],
    ['OPENAI_API_KEY', 'sk-test-123', (c) => c.openai.apiKey, 'sk-test-123'],
    ['OPENAI_BASE_URL', 'http://127.0.0.1:9999/v1', (c) => c.openai.baseURL, 'http://127.0.0.1:9999/v1'],
  ])('%s=%s sets its setting', (name, value, pick, expected) => {
    expect(pick(load())).not.toEqual(expected);
    expect(pick(load({ [name]: value }))).toEqual(expected);
  });

  it('trims surrounding whitespace from values', async () => {
    const config = load({ PLANEXEC_PLANNER_MODEL: '  gpt-6 \n', PLANEXEC_MAX_RETRIES: ' 4 ', OPENAI_API_KEY: ' sk-x ' });
    expect(config.models.planner).toBe('gpt-6');
    expect(config.openai.maxRetries).toBe(4);
    expect(config.openai.apiKey).toBe('sk-x');
  });

  it('ignores empty and blank values, falling back to the file and the defaults', async () => {
    const config = load(
      {
        PLANEXEC_PLANNER_MODEL: '',
        PLANEXEC_EXECUTOR_MODEL: '   ',
        PLANEXEC_MAX_RETRIES: '',
        PLANEXEC_LOG_LEVEL: '',
        PLANEXEC_DB: '',
        OPENAI_API_KEY: '',
        OPENAI_BASE_URL: ' ',
        XDG_STATE_HOME: '',
      },
      { file: { plannerModel: 'from-file' } },
    );
    expect(config.models).toEqual({ planner: 'from-file', executor: 'gpt-5.4-mini' });
    expect(config.openai.maxRetries).toBe(2);
    expect(config.logLevel).toBe('info');
    expect(config.openai.apiKey).toBeUndefined();
    expect(config.openai.baseURL).toBeUndefined();
    expect(config.dbPath).toBe(join(homedir(), '.local', 'state', 'planexec', 'state.db'));
  });

  it('ignores variables it does not know', async () => {
    expect(load({ PLANEXEC_PLANER_MODEL: 'typo', HOME_MODEL: 'x' }).models.planner).toBe('gpt-5.4');
  });
});

describe('precedence', () => {
  it('file < environment < overrides, key by key', async () => {
    const config = load(
      { PLANEXEC_PLANNER_MODEL: 'env-planner', PLANEXEC_DB: '/env.db', PLANEXEC_MAX_RETRIES: '3' },
      {
        file: { plannerModel: 'file-planner', executorModel: 'file-executor', db: '/file.db', root: '/file-root', maxRetries: 1, logLevel: 'warn' },
        overrides: { db: '/cli.db' },
      },
    );
    expect(config.models).toEqual({ planner: 'env-planner', executor: 'file-executor' });
    expect(config.dbPath).toBe('/cli.db');
    expect(config.root).toBe('/file-root');
    expect(config.openai.maxRetries).toBe(3);
    expect(config.logLevel).toBe('warn');
  });

  it('overrides win over the environment', async () => {
    expect(load({ PLANEXEC_ROOT: '/env-root' }, { overrides: { root: '/cli-root' } }).root).toBe('/cli-root');
  });

  it('resolves relative file paths in the file against cwd', async () => {
    const config = load({}, { file: { db: 'x/state.db', root: 'ws' } });
    expect(config.dbPath).toBe(join(CWD, 'x', 'state.db'));
    expect(config.root).toBe(join(CWD, 'ws'));
  });

  it('reads every setting a file may hold', async () => {
    const config = load(
      {},
      {
        file: {
          modelTimeoutMs: 1234,
          maxFileBytes: 10,
          maxContextBytes: 20,
          plannerMaxOutputTokens: 30,
          executorMaxOutputTokens: 40,
          extendedCacheModels: ['gpt-5.4', 'gpt-5.4-mini'],
        },
      },
    );
    expect(config.openai.timeoutMs).toBe(1234);
    expect(config.limits).toMatchObject({ maxFileBytes: 10, maxContextBytes: 20, maxOutputTokens: { planner: 30, executor: 40 } });
    expect(config.extendedCacheModels).toEqual(['gpt-5.4', 'gpt-5.4-mini']);
  });
});

describe('invalid values', () => {
  it.each([
    ['PLANEXEC_MAX_RETRIES', 'abc'],
    ['PLANEXEC_MAX_RETRIES', '11'],
    ['PLANEXEC_MAX_RETRIES', '-1'],
    ['PLANEXEC_LOG_LEVEL', 'loud'],
    ['PLANEXEC_MODEL_TIMEOUT_MS', '0'],
    ['PLANEXEC_MODEL_TIMEOUT_MS', '1.5'],
    ['PLANEXEC_MAX_FILE_BYTES', 'lots'],
    ['PLANEXEC_PLANNER_MAX_OUTPUT_TOKENS', '-100'],
  ])('%s=%s throws a ConfigError naming the variable', (name, value) => {
    const error = configError(() => load({ [name]: value }));
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain(`${name}:`);
    expect(error.message).toContain('environment');
  });

  it('lists the allowed log levels when PLANEXEC_LOG_LEVEL is wrong', async () => {
    const error = configError(() => load({ PLANEXEC_LOG_LEVEL: 'loud' }));
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) expect(error.message).toContain(level);
  });

  it('names every bad variable at once', async () => {
    const error = configError(() => load({ PLANEXEC_MAX_RETRIES: 'abc', PLANEXEC_LOG_LEVEL: 'loud' }));
    expect(error.message).toContain('PLANEXEC_MAX_RETRIES');
    expect(error.message).toContain('PLANEXEC_LOG_LEVEL');
  });

  it('throws a ConfigError naming an unknown key in the file and the file', async () => {
    const error = configError(() => load({}, { file: { plannerModel: 'x', plannr: 'typo' }, fileName: '/etc/planexec.json' }));
    expect(error.message).toContain('Unrecognized key: "plannr"');
    expect(error.message).not.toContain(': :');
    expect(error.message).toContain('/etc/planexec.json');
  });

  it('throws a ConfigError naming a file key with a wrong value', async () => {
    const error = configError(() => load({}, { file: { logLevel: 'loud' } }));
    expect(error.message).toContain('logLevel:');
    expect(error.message).toContain('config file');
  });

  it('throws a ConfigError when the file is not a JSON object', async () => {
    for (const file of ['just a string', [1, 2], 42]) {
      const error = configError(() => load({}, { file, fileName: 'planexec.json' }));
      expect(error.message).toContain('planexec.json');
    }
  });

  it('throws a ConfigError for a price row that lacks a field or has an unknown one', async () => {
    expect(configError(() => load({}, { file: { prices: { 'my-model': { input: 1, cached: 0.1, output: 2 } } } })).message).toContain('prices.my-model.quota:');
    expect(
      configError(() => load({}, { file: { prices: { 'my-model': { input: 1, cached: 0.1, output: 2, quota: 0.5, currency: 'EUR' } } } })).message,
    ).toContain('prices');
  });
});

describe('prices', () => {
  it('merges the file price rows over the defaults, model by model', async () => {
    const mine = { input: 0.1, cached: 0.01, output: 0.4, quota: 0.1 };
    const cheaperPlanner = { input: 2, cached: 0.2, output: 12, quota: 1 };
    const config = load({}, { file: { prices: { 'my-model': mine, 'gpt-5.4': cheaperPlanner } } });
    expect(config.prices).toEqual({ 'gpt-5.4': cheaperPlanner, 'gpt-5.4-mini': DEFAULT_PRICES['gpt-5.4-mini'], 'my-model': mine });
    expect(DEFAULT_PRICES['gpt-5.4']).toEqual({ input: 2.5, cached: 0.25, output: 15, quota: 1 });
  });
});

describe('the returned object', () => {
  it('is frozen: assigning a top-level setting throws', async () => {
    const config = load();
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { logLevel: string }).logLevel = 'debug';
    }).toThrow(TypeError);
    expect(config.logLevel).toBe('info');
  });

  // A shallow freeze would leave the price rows shared with DEFAULT_PRICES: one assignment through a
  // config would reprice every later config in the process.
  it('is frozen all the way down, so no setting or price can be changed through it', async () => {
    const config = load();
    for (const part of [config.openai, config.models, config.limits, config.limits.maxOutputTokens, config.prices, config.prices['gpt-5.4'], config.extendedCacheModels]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (config.prices['gpt-5.4'] as { input: number }).input = 99;
    }).toThrow(TypeError);
    expect(() => {
      (config.models as { planner: string }).planner = 'other';
    }).toThrow(TypeError);
    expect(DEFAULT_PRICES['gpt-5.4']?.input).toBe(2.5);
    expect(load().prices['gpt-5.4']?.input).toBe(2.5);
    expect(config.models.planner).toBe('gpt-5.4');
  });

  it('reads OPENAI_API_KEY into openai.apiKey', async () => {
    expect(load({ OPENAI_API_KEY: 'sk-proj-0123456789' }).openai.apiKey).toBe('sk-proj-0123456789');
  });

  // PRODUCT.md: the key is never written to a log; a logger handed the config must not print it.
  it('does not reveal OPENAI_API_KEY through JSON.stringify, spreading or Object.keys', async () => {
    const config = load({ OPENAI_API_KEY: 'sk-proj-0123456789' });
    expect(JSON.stringify(config)).not.toContain('sk-proj-0123456789');
    expect(JSON.stringify({ ...config.openai })).not.toContain('sk-proj-0123456789');
    expect(Object.keys(config.openai)).not.toContain('apiKey');
  });
});

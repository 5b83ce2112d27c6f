// loadConfig: defaults, each PLANEXEC_* variable, file < env < overrides, validation errors that name
// what is wrong, the price table merge, freezing, and what happens to OPENAI_API_KEY.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPaths, ConfigError, loadConfig, readConfigFile, secretValues, type Config, type FileConfig } from '../../src/config.js';
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
    expect(error.message).toMatch(/unknown key "plannr"\. The keys are: plannerModel, executorModel, /);
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

describe('~ in path settings', () => {
  const HOME = '/home/ada';

  it.each<[string, string, (c: Readonly<Config>) => unknown, string]>([
    ['PLANEXEC_DB', '~/.local/state/planexec/state.db', (c) => c.dbPath, join(HOME, '.local', 'state', 'planexec', 'state.db')],
    ['PLANEXEC_ROOT', '~/code/app', (c) => c.root, join(HOME, 'code', 'app')],
    ['PLANEXEC_ROOT', '~', (c) => c.root, HOME],
    ['XDG_STATE_HOME', '~/state', (c) => c.dbPath, join(HOME, 'state', 'planexec', 'state.db')],
  ])('%s=%s is expanded from HOME, not taken as a folder named ~', (name, value, pick, expected) => {
    expect(pick(load({ HOME, [name]: value }))).toBe(expected);
  });

  it('expands ~ in the config file and on the command line too', async () => {
    const config = load({ HOME }, { file: { db: '~/file.db', root: '~/from-file' }, overrides: { root: '~/from-flag' } });
    expect(config.dbPath).toBe(join(HOME, 'file.db'));
    expect(config.root).toBe(join(HOME, 'from-flag'));
  });

  it('refuses ~name with a ConfigError naming the setting, rather than making a folder called ~name', async () => {
    expect(configError(() => load({ HOME, PLANEXEC_ROOT: '~bob/app' })).message).toMatch(/^PLANEXEC_ROOT ~bob\/app: .*full path/);
    expect(configError(() => load({ HOME }, { overrides: { db: '~bob/x.db' } })).message).toMatch(/^--db ~bob\/x.db:/);
  });

  it('expands ~ in the path of the config file and names PLANEXEC_CONFIG or --config when it cannot be read or parsed', async () => {
    const home = mkdtempSync(join(tmpdir(), 'planexec-config-'));
    try {
      writeFileSync(join(home, 'planexec.json'), JSON.stringify({ plannerModel: 'from-home-file' }));
      writeFileSync(join(home, 'broken.json'), '{ "plannerModel": ');
      expect(readConfigFile('~/planexec.json', 'PLANEXEC_CONFIG', { HOME: home })).toEqual({ file: { plannerModel: 'from-home-file' }, fileName: join(home, 'planexec.json') });
      const missing = configError(() => readConfigFile('~/nope.json', 'PLANEXEC_CONFIG', { HOME: home }));
      expect(missing.message).toMatch(/^PLANEXEC_CONFIG .*nope\.json: cannot read the config file \(ENOENT/);
      const broken = configError(() => readConfigFile('~/broken.json', '--config', { HOME: home }));
      expect(broken.message).toMatch(/^--config .*broken\.json: the config file is not valid JSON/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('names the config file and the setting that named it when a key in it is wrong', async () => {
    const error = configError(() => load({}, { file: { logLevel: 'loud' }, fileName: '/etc/planexec.json', fileSetting: 'PLANEXEC_CONFIG' }));
    expect(error.message).toContain('/etc/planexec.json (PLANEXEC_CONFIG)');
    expect(error.message).toContain('logLevel:');
  });
});

describe('the workspace root', () => {
  let home: string;
  beforeEach(() => {
    home = realpathSync(mkdtempSync(join(tmpdir(), 'planexec-home-')));
    mkdirSync(join(home, 'code', 'app'), { recursive: true });
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('is none when nothing sets it and the working folder is the home folder (HOME from the env)', async () => {
    const config = loadConfig({ HOME: home }, { cwd: home });
    expect(config.root).toBeNull();
    expect(config.sources.root).toBeNull();
  });

  it('is none when the working folder is / or a folder above the home folder', async () => {
    expect(loadConfig({ HOME: home }, { cwd: '/' }).root).toBeNull();
    expect(loadConfig({ HOME: home }, { cwd: dirname(home) }).root).toBeNull();
  });

  it('compares real paths: a symlink to the home folder is the home folder', async () => {
    const link = join(tmpdir(), `planexec-home-link-${process.pid}`);
    symlinkSync(home, link);
    try {
      expect(loadConfig({ HOME: home }, { cwd: link }).root).toBeNull();
      expect(loadConfig({ HOME: link }, { cwd: home }).root).toBeNull();
    } finally {
      rmSync(link);
    }
  });

  it('is the working folder when that is a project below the home folder', async () => {
    expect(loadConfig({ HOME: home }, { cwd: join(home, 'code', 'app') }).root).toBe(join(home, 'code', 'app'));
  });

  it('takes an explicit PLANEXEC_ROOT of the home folder or / as given, with a start-up warning naming it', async () => {
    const atHome = loadConfig({ HOME: home, PLANEXEC_ROOT: home }, { cwd: '/' });
    expect(atHome.root).toBe(home);
    expect(atHome.warnings).toHaveLength(1);
    expect(atHome.warnings[0]).toMatch(new RegExp(`^PLANEXEC_ROOT is ${home}, your home folder: `));
    const slash = loadConfig({ HOME: home }, { cwd: home, overrides: { root: '/' } });
    expect(slash.root).toBe('/');
    expect(slash.warnings[0]).toMatch(/^--root is \/, the root of the file system: /);
    expect(loadConfig({ HOME: home, PLANEXEC_ROOT: join(home, 'code', 'app') }).warnings).toEqual([]);
  });

  it('records which setting gave the root and the database', async () => {
    expect(load({ PLANEXEC_ROOT: '/a', PLANEXEC_DB: '/a.db' }).sources).toEqual({ root: 'PLANEXEC_ROOT', db: 'PLANEXEC_DB', worktrees: null });
    expect(load({}, { overrides: { root: '/b', db: '/b.db' } }).sources).toEqual({ root: '--root', db: '--db', worktrees: null });
    expect(load({}, { file: { root: '/c' }, fileName: '/etc/p.json', fileSetting: '--config' }).sources).toEqual({ root: '"root" in the config file /etc/p.json (--config)', db: null, worktrees: null });
    expect(load().sources).toEqual({ root: null, db: null, worktrees: null });
    expect(load({ PLANEXEC_WORKTREES: '/w' }).sources.worktrees).toBe('PLANEXEC_WORKTREES');
  });
});

describe('secret files and hard links', () => {
  it('are withheld by default', async () => {
    expect(load().files).toEqual({ allowSecretFiles: false, allowHardLinks: false });
  });

  it.each(['on', 'true', '1'])('PLANEXEC_ALLOW_SECRET_FILES and PLANEXEC_ALLOW_HARDLINKS set to %s allow them', (value) => {
    expect(load({ PLANEXEC_ALLOW_SECRET_FILES: value, PLANEXEC_ALLOW_HARDLINKS: value }).files).toEqual({ allowSecretFiles: true, allowHardLinks: true });
  });

  it.each(['off', 'false', '0'])('both set to %s keep them withheld, also over a config file that allows them', (value) => {
    const config = load({ PLANEXEC_ALLOW_SECRET_FILES: value, PLANEXEC_ALLOW_HARDLINKS: value }, { file: { allowSecretFiles: true, allowHardLinks: true } });
    expect(config.files).toEqual({ allowSecretFiles: false, allowHardLinks: false });
  });

  it('names the variable when its value is not a boolean', async () => {
    expect(configError(() => load({ PLANEXEC_ALLOW_SECRET_FILES: 'yes please' })).message).toContain('PLANEXEC_ALLOW_SECRET_FILES:');
  });
});

describe('secret values', () => {
  it('are the keys, tokens and secrets of the environment, longest first, and nothing else', async () => {
    const env = {
      OPENAI_API_KEY: ' azkey-0123 ',
      PLANEXEC_EXECUTOR_API_KEY: 'exec-key-abcdefgh',
      PLANEXEC_HTTP_TOKEN: 'tok1',
      GITHUB_TOKEN: 'ghp_0123456789',
      MY_SERVICE_SECRET: 'hunter2-hunter2',
      SHORT_TOKEN: 'abc1234',
      PATH: '/usr/bin:/bin',
      HOME: '/home/ada',
      PLANEXEC_PLANNER_TOKEN_BUDGET: '100000000',
      PLANEXEC_PLANNER_MAX_OUTPUT_TOKENS: '80000000',
    };
    expect(secretValues(env)).toEqual(['exec-key-abcdefgh', 'hunter2-hunter2', 'ghp_0123456789', 'azkey-0123', 'tok1']);
  });

  it('ride on the config without showing up when it is serialised', async () => {
    const config = load({ OPENAI_API_KEY: 'azkey-0123456789' });
    expect(config.secrets).toEqual(['azkey-0123456789']);
    expect(JSON.stringify(config)).not.toContain('azkey-0123456789');
    expect(Object.keys(config)).not.toContain('secrets');
  });
});

describe('checkPaths', () => {
  let dir: string;
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'planexec-paths-')));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const at = (env: Record<string, string>, overrides: FileConfig = {}) => loadConfig({ HOME: dir, PLANEXEC_DB: join(dir, 'state', 'p.db'), ...env }, { cwd: dir, overrides });

  it('accepts an existing root and creates the folder of the database', async () => {
    mkdirSync(join(dir, 'app'));
    checkPaths(at({ PLANEXEC_ROOT: '~/app', PLANEXEC_DB: '~/deep/er/state.db' }));
    expect(statSync(join(dir, 'deep', 'er')).isDirectory()).toBe(true);
  });

  it('names PLANEXEC_ROOT (or --root) when the root is missing or a file', async () => {
    expect(configError(() => checkPaths(at({ PLANEXEC_ROOT: '~/code/app' }))).message).toBe(
      `PLANEXEC_ROOT ${join(dir, 'code', 'app')}: no such folder. Set PLANEXEC_ROOT to your project folder (an absolute path or ~/...), then restart.`,
    );
    writeFileSync(join(dir, 'file.txt'), 'x');
    expect(configError(() => checkPaths(at({}, { root: 'file.txt' }))).message).toMatch(/^--root .*file\.txt: not a folder\./);
  });

  it('names PLANEXEC_DB (not the root) when the database folder cannot be created or the path is a folder', async () => {
    writeFileSync(join(dir, 'blocker'), 'a file where a folder should be');
    const error = configError(() => checkPaths(at({ PLANEXEC_DB: '~/blocker/state.db' })));
    expect(error.message).toMatch(/^PLANEXEC_DB .*blocker\/state\.db: its folder .* cannot be created or written \(E(NOTDIR|EXIST)/);
    expect(error.message).toContain('Set PLANEXEC_DB to a file in a folder you can write');
    mkdirSync(join(dir, 'a-folder.db'));
    expect(configError(() => checkPaths(at({}, { db: 'a-folder.db' }))).message).toMatch(/^--db .*a-folder\.db: is not a file\./);
  });

  it('names PLANEXEC_DB as the default when the default location cannot be used', async () => {
    writeFileSync(join(dir, '.local'), 'not a folder');
    const config = loadConfig({ HOME: dir }, { cwd: dir });
    expect(configError(() => checkPaths(config)).message).toMatch(/^the database .* \(the default of PLANEXEC_DB\): its folder /);
  });

  it('leaves a :memory: database alone', async () => {
    expect(() => checkPaths(loadConfig({ HOME: dir, PLANEXEC_DB: ':memory:' }, { cwd: dir }))).not.toThrow();
  });
});

describe('providers per role', () => {
  it('defaults both roles to the Responses API on OPENAI_BASE_URL with OPENAI_API_KEY, and codex to `codex` on PATH', async () => {
    const config = load({ OPENAI_API_KEY: 'sk-main', OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1' });
    for (const role of ['planner', 'executor'] as const) {
      const p = config.providers[role];
      expect(p).toEqual({ kind: 'responses', baseURL: 'http://127.0.0.1:9999/v1', settingNames: { apiKey: 'OPENAI_API_KEY', baseURL: 'OPENAI_BASE_URL' }, kindSource: null });
      expect(p.apiKey).toBe('sk-main');
    }
    expect(config.codexBin).toBeUndefined();
  });

  it('reads PLANEXEC_<ROLE>_PROVIDER, _BASE_URL and _API_KEY per role, naming the settings the user set', async () => {
    const config = load({
      OPENAI_API_KEY: 'sk-main',
      PLANEXEC_PLANNER_PROVIDER: 'codex',
      PLANEXEC_EXECUTOR_PROVIDER: ' Chat ',
      PLANEXEC_EXECUTOR_BASE_URL: 'https://openrouter.ai/api/v1',
      PLANEXEC_EXECUTOR_API_KEY: 'sk-or-executor',
    });
    expect(config.providers.planner.kind).toBe('codex');
    expect(config.providers.planner.kindSource).toBe('PLANEXEC_PLANNER_PROVIDER');
    expect(config.providers.executor).toEqual({
      kind: 'chat',
      baseURL: 'https://openrouter.ai/api/v1',
      settingNames: { apiKey: 'PLANEXEC_EXECUTOR_API_KEY', baseURL: 'PLANEXEC_EXECUTOR_BASE_URL' },
      kindSource: 'PLANEXEC_EXECUTOR_PROVIDER',
    });
    expect(config.providers.executor.apiKey).toBe('sk-or-executor');
  });

  it('keeps the role keys out of the serialised config and among the secrets', async () => {
    const config = load({ OPENAI_API_KEY: 'sk-main-1234', PLANEXEC_PLANNER_API_KEY: 'sk-planner-5678', PLANEXEC_EXECUTOR_API_KEY: 'sk-executor-9012' });
    expect(config.providers.planner.apiKey).toBe('sk-planner-5678');
    const text = JSON.stringify(config);
    for (const key of ['sk-main-1234', 'sk-planner-5678', 'sk-executor-9012']) {
      expect(text).not.toContain(key);
      expect(config.secrets).toContain(key);
    }
  });

  it('sends OPENAI_API_KEY only to the server of OPENAI_BASE_URL (OpenAI by default), never to a role\'s own server', async () => {
    const other = load({ OPENAI_API_KEY: 'sk-main', PLANEXEC_EXECUTOR_PROVIDER: 'chat', PLANEXEC_EXECUTOR_BASE_URL: 'http://localhost:11434/v1' });
    expect(other.providers.executor.apiKey).toBeUndefined();
    expect(other.providers.executor.settingNames.apiKey).toBe('PLANEXEC_EXECUTOR_API_KEY');
    expect(other.providers.planner.apiKey).toBe('sk-main');
    const same = load({ OPENAI_API_KEY: 'sk-main', PLANEXEC_PLANNER_BASE_URL: 'https://api.openai.com/v1' });
    expect(same.providers.planner.apiKey).toBe('sk-main');
    expect(same.providers.planner.settingNames).toEqual({ apiKey: 'OPENAI_API_KEY', baseURL: 'PLANEXEC_PLANNER_BASE_URL' });
    const proxy = load({ OPENAI_API_KEY: 'sk-main', OPENAI_BASE_URL: 'http://proxy.internal:4000/v1', PLANEXEC_EXECUTOR_BASE_URL: 'http://proxy.internal:4000/other' });
    expect(proxy.providers.executor.apiKey).toBe('sk-main');
  });

  it('takes the provider settings from the config file in camelCase, the environment winning', async () => {
    const config = load(
      { PLANEXEC_PLANNER_PROVIDER: 'responses' },
      { file: { plannerProvider: 'chat', executorProvider: 'chat', executorBaseUrl: 'http://127.0.0.1:1234/v1', codexBin: '/opt/codex/bin/codex' }, fileName: '/etc/planexec.json' },
    );
    expect(config.providers.planner.kind).toBe('responses');
    expect(config.providers.executor.kind).toBe('chat');
    expect(config.providers.executor.kindSource).toBe('"executorProvider" in the config file /etc/planexec.json');
    expect(config.providers.executor.baseURL).toBe('http://127.0.0.1:1234/v1');
    expect(config.providers.executor.settingNames.baseURL).toBe('"executorBaseUrl" in the config file /etc/planexec.json');
    expect(config.codexBin).toBe('/opt/codex/bin/codex');
  });

  it('expands ~ in PLANEXEC_CODEX_BIN from HOME and leaves a bare name for the PATH lookup', async () => {
    expect(load({ HOME: '/home/ada', PLANEXEC_CODEX_BIN: '~/.npm-global/bin/codex' }).codexBin).toBe('/home/ada/.npm-global/bin/codex');
    expect(load({ PLANEXEC_CODEX_BIN: 'codex-nightly' }).codexBin).toBe('codex-nightly');
    expect(configError(() => load({ PLANEXEC_CODEX_BIN: '~bob/codex' })).message).toMatch(/^PLANEXEC_CODEX_BIN ~bob\/codex:/);
  });

  it('starts with codex chosen and no Codex CLI anywhere: the tool call says so, not the start-up', async () => {
    const config = load({ PLANEXEC_PLANNER_PROVIDER: 'codex', PLANEXEC_EXECUTOR_PROVIDER: 'codex', PLANEXEC_CODEX_BIN: '/nonexistent/codex', PATH: '/nonexistent' });
    expect(config.providers.planner.kind).toBe('codex');
    expect(config.codexBin).toBe('/nonexistent/codex');
  });

  it('refuses an unknown provider kind, naming the setting and the kinds there are', async () => {
    const error = configError(() => load({ PLANEXEC_EXECUTOR_PROVIDER: 'ollama' }));
    expect(error.message).toMatch(/PLANEXEC_EXECUTOR_PROVIDER: must be one of responses, chat, codex/);
    const fromFile = configError(() => load({}, { file: { plannerProvider: 'anthropic' }, fileName: '/x.json' }));
    expect(fromFile.message).toMatch(/config file \/x\.json.*plannerProvider: must be one of responses, chat, codex/);
  });

  it('refuses a base URL that is not http(s), naming the setting', async () => {
    expect(configError(() => load({ PLANEXEC_EXECUTOR_BASE_URL: 'localhost:11434/v1' })).message).toMatch(/PLANEXEC_EXECUTOR_BASE_URL: must be an http:\/\/ or https:\/\/ URL/);
    expect(configError(() => load({ PLANEXEC_PLANNER_BASE_URL: 'ftp://example.com/v1' })).message).toMatch(/PLANEXEC_PLANNER_BASE_URL: must be an http/);
    expect(configError(() => load({}, { file: { executorBaseUrl: 'file:///tmp/x' } })).message).toMatch(/executorBaseUrl: must be an http/);
    expect(configError(() => load({ OPENAI_BASE_URL: 'api.openai.com' })).message).toMatch(/^OPENAI_BASE_URL api\.openai\.com: must be an http/);
  });

  it('does not check OPENAI_BASE_URL when no role uses it', async () => {
    const config = load({ OPENAI_BASE_URL: 'not a url', PLANEXEC_PLANNER_PROVIDER: 'codex', PLANEXEC_EXECUTOR_BASE_URL: 'http://localhost:11434/v1' });
    expect(config.providers.executor.baseURL).toBe('http://localhost:11434/v1');
  });

  it('warns about a base URL set for a role on codex, which does not use it', async () => {
    const config = load({ PLANEXEC_PLANNER_PROVIDER: 'codex', PLANEXEC_PLANNER_BASE_URL: 'http://localhost:11434/v1' });
    expect(config.warnings).toEqual([expect.stringMatching(/^PLANEXEC_PLANNER_BASE_URL is set, but the planner's provider is codex, which does not use it/)]);
  });
});

describe('values a user gets wrong are named with what they must be', () => {
  const fails = (env: Record<string, string>, file?: Record<string, unknown>) => {
    try {
      loadConfig(env, file ? { file: file as never, fileName: '/etc/p.json', fileSetting: 'PLANEXEC_CONFIG' } : {});
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('loaded');
  };

  it('a number, an on/off, a minimum', () => {
    expect(fails({ PLANEXEC_CONCURRENCY: 'abc' })).toContain('PLANEXEC_CONCURRENCY: must be a whole number (got something that is not a number)');
    expect(fails({ PLANEXEC_CACHE_PRIMING: 'yes' })).toContain('PLANEXEC_CACHE_PRIMING: must be on or off (or true/false, 1/0) (got "yes")');
    expect(fails({ PLANEXEC_CONCURRENCY: '0' })).toContain('PLANEXEC_CONCURRENCY: must be at least 1 (got 0)');
  });

  it('an unknown key of the config file: the nearest name, the list, and where keys go', () => {
    expect(fails({}, { allowHardlinks: true })).toMatch(/unknown key "allowHardlinks" \(did you mean "allowHardLinks"\?\)\. The keys are: plannerModel, /);
    expect(fails({}, { openaiApiKey: 'sk-x' })).toContain('Keys and tokens are read from the environment only');
  });

  it('a check or setup command that needs a shell is refused at start-up, naming the setting', () => {
    expect(fails({ PLANEXEC_CHECKS: 'npm test\nnpm test | tee x' })).toMatch(/^PLANEXEC_CHECKS \(or "checks" in the config file\): Check command "npm test \| tee x" uses the shell operator "\|"/);
    expect(fails({ PLANEXEC_WORKTREE_SETUP: 'npm ci && npm run build' })).toMatch(/^PLANEXEC_WORKTREE_SETUP/);
  });
});

// The Streamable HTTP settings: the address (--http, PLANEXEC_HTTP, "http" in the file), the bearer
// tokens of PLANEXEC_HTTP_TOKEN and their requester names, the allowed origins, the refusal to bind
// a non-loopback address without a token, and the tokens as secrets.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_REQUESTER, isLoopbackHost, loadConfig, parseHttpTokens, parseListenAddress, secretValues, type Config } from '../../src/config.js';

const CWD = resolve('/srv/project');
const TOKEN = 'a3f1c2d4e5b6a7980f1e2d3c4b5a6978';
const OTHER = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Cg==';

const load = (env: Record<string, string | undefined> = {}, opts: Parameters<typeof loadConfig>[1] = {}): Readonly<Config> => loadConfig(env, { cwd: CWD, ...opts });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('the listen address', () => {
  it.each([
    ['127.0.0.1:8787', '127.0.0.1', 8787, true],
    [':8787', '127.0.0.1', 8787, true],
    ['8787', '127.0.0.1', 8787, true],
    ['localhost:0', 'localhost', 0, true],
    ['[::1]:8787', '::1', 8787, true],
    ['127.1.2.3:80', '127.1.2.3', 80, true],
    ['0.0.0.0:8787', '0.0.0.0', 8787, false],
    ['[::]:8787', '::', 8787, false],
    ['10.1.2.3:8787', '10.1.2.3', 8787, false],
    ['planexec.internal:443', 'planexec.internal', 443, false],
  ])('%s listens on %s port %i (loopback %s)', (value, host, port, loopback) => {
    expect(parseListenAddress(value, '--http')).toEqual({ host, port, loopback });
  });

  it.each([
    ['127.0.0.1', /no port/],
    ['127.0.0.1:99999', /port must be a number from 0 to 65535/],
    ['127.0.0.1:http', /port must be a number/],
    ['::1:8787', /IPv6 address must be in brackets/],
    ['[nothost]:8787', /not an IPv6 address/],
    ['http://x:80', /without http:\/\/ or a path/],
    ['my_host:80', /not an address or host name/],
  ])('refuses %s, naming the setting', (value, why) => {
    const error = configError(() => parseListenAddress(value, 'PLANEXEC_HTTP'));
    expect(error.message).toMatch(/^PLANEXEC_HTTP /);
    expect(error.message).toMatch(why);
  });

  it('tells loopback hosts from others', () => {
    expect(['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', '[::1]'].map(isLoopbackHost)).toEqual(Array(8).fill(true));
    expect(['0.0.0.0', '::', '128.0.0.1', '::2', 'localhost.example.com', '192.168.1.2'].map(isLoopbackHost)).toEqual(Array(6).fill(false));
  });
});

describe('PLANEXEC_HTTP_TOKEN', () => {
  it('one token is the default requester', () => {
    const tokens = parseHttpTokens(`  ${TOKEN}\n`);
    expect(tokens.map((t) => [t.name, t.token])).toEqual([[DEFAULT_REQUESTER, TOKEN]]);
  });

  it('a base64 token ending in = stays one token', () => {
    expect(parseHttpTokens(OTHER).map((t) => [t.name, t.token])).toEqual([[DEFAULT_REQUESTER, OTHER]]);
  });

  it('name=token lines give each token its requester name', () => {
    const tokens = parseHttpTokens(`alice=${TOKEN}\n\nci-bot@team=${OTHER}\r\n`);
    expect(tokens.map((t) => [t.name, t.token])).toEqual([
      ['alice', TOKEN],
      ['ci-bot@team', OTHER],
    ]);
    // The tokens never show up when the settings are serialised or logged.
    expect(JSON.stringify(tokens)).not.toContain(TOKEN);
  });

  it('a single name=token line is named', () => {
    expect(parseHttpTokens(`alice=${TOKEN}`).map((t) => t.name)).toEqual(['alice']);
  });

  it('a single line whose only = are at its end is one token; any other = makes it name=token', () => {
    const padded = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3Jh=';
    expect(parseHttpTokens(padded).map((t) => [t.name, t.token])).toEqual([[DEFAULT_REQUESTER, padded]]);
    // A token with = inside is given a name, and split at the first =.
    expect(parseHttpTokens(`ci=ab=${TOKEN}`).map((t) => [t.name, t.token])).toEqual([['ci', `ab=${TOKEN}`]]);
    // name=token with a token too short is refused, not taken whole as one (longer) token.
    expect(configError(() => parseHttpTokens('alice=0123456789')).message).toMatch(/^PLANEXEC_HTTP_TOKEN: a token must be at least 16 characters/);
  });

  it.each([['al!ce=0123456789abcdef0123'], ['al ice=0123456789abcdef0123'], ['=0123456789abcdef0123'], [`bob!=x=${TOKEN}`]])(
    'a single line %j with a bad name is refused, saying what a name may hold',
    (value) => {
      const error = configError(() => parseHttpTokens(value));
      expect(error.message).toMatch(/^PLANEXEC_HTTP_TOKEN: the text before the first '=' is a requester name, and a name is 1 to 64 letters, digits, '\.', '_', '@' or '-' \(no spaces\)/);
      expect(error.message).toContain("give any other token a name: name=token");
      expect(error.message).not.toContain('0123456789abcdef0123');
      expect(error.message).not.toContain(TOKEN);
    },
  );

  it.each([
    ['short', /at least 16 characters/],
    [`alice=${TOKEN}\nbob`, /line 2 is not name=token/],
    [`alice=${TOKEN}\nalice=${OTHER}`, /alice is given twice/],
    [`alice=${TOKEN}\nbob=${TOKEN}`, /same token is given twice/],
    [`alice=${TOKEN}\n-bad=${OTHER}`, /line 2 \(bad name\): the text before the first '=' is a requester name/],
    [`alice=${TOKEN}\n${OTHER}`, /line 2 is not name=token/],
    [`alice=${TOKEN}\nbob=short`, /line 2 \(bob\): a token must be at least 16/],
  ])('refuses %j without quoting a token', (value, why) => {
    const error = configError(() => parseHttpTokens(value));
    expect(error.message).toMatch(/^PLANEXEC_HTTP_TOKEN/);
    expect(error.message).toMatch(why);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain('short');
  });

  it('every token and every line is a secret to mask, names alone are not', () => {
    const secrets = secretValues({ PLANEXEC_HTTP_TOKEN: `alice=${TOKEN}\nbob=${OTHER}` });
    expect(secrets).toEqual(expect.arrayContaining([TOKEN, OTHER, `alice=${TOKEN}`, `bob=${OTHER}`]));
    expect(secrets).not.toContain('alice');
  });
});

describe('loadConfig http', () => {
  it('is null (stdio) unless an address is set', () => {
    expect(load({ PLANEXEC_HTTP_TOKEN: TOKEN }).http).toBeNull();
  });

  it('takes the address from --http over PLANEXEC_HTTP over the config file', () => {
    const file = { http: '127.0.0.1:1001' };
    expect(load({}, { file, fileName: '/c.json' }).http).toMatchObject({ host: '127.0.0.1', port: 1001, source: '"http" in the config file /c.json' });
    expect(load({ PLANEXEC_HTTP: ':1002' }, { file }).http).toMatchObject({ port: 1002, source: 'PLANEXEC_HTTP' });
    expect(load({ PLANEXEC_HTTP: ':1002' }, { file, overrides: { http: '[::1]:1003' } }).http).toMatchObject({ host: '::1', port: 1003, source: '--http' });
  });

  it('carries the tokens, not enumerable', () => {
    const http = load({ PLANEXEC_HTTP: ':8787', PLANEXEC_HTTP_TOKEN: `alice=${TOKEN}` }).http!;
    expect(http.tokens.map((t) => t.name)).toEqual(['alice']);
    expect(JSON.stringify(http)).not.toContain(TOKEN);
  });

  it('refuses a non-loopback address without a token, naming the setting and PLANEXEC_HTTP_TOKEN', () => {
    const error = configError(() => load({}, { overrides: { http: '0.0.0.0:8787' } }));
    expect(error.message).toMatch(/^--http 0\.0\.0\.0:8787: 0\.0\.0\.0 is not a loopback address and PLANEXEC_HTTP_TOKEN is not set/);
    expect(configError(() => load({ PLANEXEC_HTTP: '10.0.0.5:80' })).message).toMatch(/^PLANEXEC_HTTP 10\.0\.0\.5:80: .*PLANEXEC_HTTP_TOKEN/);
  });

  it('binds a non-loopback address with a token', () => {
    expect(load({ PLANEXEC_HTTP: '0.0.0.0:8787', PLANEXEC_HTTP_TOKEN: TOKEN }).http).toMatchObject({ host: '0.0.0.0', loopback: false });
  });

  it('warns when a loopback server asks no token, and when no root is configured', () => {
    expect(load({ PLANEXEC_HTTP: ':8787', PLANEXEC_ROOT: '/srv/app' }).warnings).toEqual([expect.stringMatching(/PLANEXEC_HTTP_TOKEN is not set, so any program on this machine can use the server/)]);
    expect(load({ PLANEXEC_HTTP: ':8787', PLANEXEC_HTTP_TOKEN: TOKEN }).warnings).toEqual([expect.stringMatching(/^PLANEXEC_HTTP: PLANEXEC_ROOT is not set, so each session's root is the folder its host names/)]);
    expect(load({ PLANEXEC_HTTP: ':8787', PLANEXEC_HTTP_TOKEN: TOKEN, PLANEXEC_ROOT: '/srv/app' }).warnings).toEqual([]);
  });

  it('reads allowed origins from a comma list or a JSON array, and refuses what is not an origin', () => {
    expect(load({ PLANEXEC_HTTP: ':1', PLANEXEC_HTTP_ALLOWED_ORIGINS: 'https://a.example.com, http://b.example:8080/' }).http!.allowedOrigins).toEqual([
      'https://a.example.com',
      'http://b.example:8080',
    ]);
    expect(load({ PLANEXEC_HTTP: ':1' }, { file: { httpAllowedOrigins: ['https://c.example'] } }).http!.allowedOrigins).toEqual(['https://c.example']);
    expect(configError(() => load({ PLANEXEC_HTTP: ':1', PLANEXEC_HTTP_ALLOWED_ORIGINS: 'https://a.example/app' })).message).toMatch(
      /^PLANEXEC_HTTP_ALLOWED_ORIGINS: https:\/\/a\.example\/app is not an origin/,
    );
    expect(configError(() => load({ PLANEXEC_HTTP: ':1', PLANEXEC_HTTP_ALLOWED_ORIGINS: '*' })).message).toMatch(/\* is not an origin/);
  });
});

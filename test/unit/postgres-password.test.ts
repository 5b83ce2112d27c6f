// No part of a PostgreSQL password shows, whatever characters it holds: the masked URL (dbPath),
// the refusal of a URL that does not parse, and the redactor fed with the configured secrets.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretRedactor } from '../../src/adapters/redact.js';
import { maskPostgresUrl, postgresPassword } from '../../src/adapters/store/postgres-url.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const CWD = resolve('/srv/project');
// Each password's pieces are distinctive, so finding any of them in a text means a piece leaked.
const PIECES = ['Zq7', 'xK9', 'mW3'];
const FORMS: Array<[string, string]> = [
  ['a slash', 'Zq7/xK9'],
  ['two @', 'Zq7@xK9@mW3'],
  ['a colon', 'Zq7:xK9'],
  ['percent-encoding', 'Zq7%2FxK9%40mW3'],
  ['a question mark', 'Zq7?xK9'],
  ['a hash', 'Zq7#xK9'],
  ['a space', 'Zq7 xK9'],
  ['@ and / together', 'Zq7@xK9/mW3'],
];
const leaked = (text: string) => PIECES.filter((p) => text.includes(p));

function configOrError(url: string, source: 'env' | 'flag' | 'file'): { dbPath?: string; secrets?: readonly string[]; error?: string } {
  try {
    const config =
      source === 'env'
        ? loadConfig({ PLANEXEC_DB: url }, { cwd: CWD })
        : source === 'flag'
          ? loadConfig({}, { cwd: CWD, overrides: { db: url } })
          : loadConfig({}, { cwd: CWD, file: { db: url }, fileName: '/etc/planexec.json', fileSetting: 'PLANEXEC_CONFIG' });
    return { dbPath: config.dbPath, secrets: config.secrets };
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return { error: (error as Error).message };
  }
}

describe('a PostgreSQL password with any characters', () => {
  for (const [what, password] of FORMS) {
    it(`with ${what}: neither the shown URL nor a refusal holds any piece of it, from PLANEXEC_DB, --db or the config file`, () => {
      const url = `postgres://planexec:${password}@127.0.0.1:55432/planexec`;
      for (const source of ['env', 'flag', 'file'] as const) {
        const got = configOrError(url, source);
        const shown = got.dbPath ?? got.error!;
        expect(shown).toContain('127.0.0.1:55432/planexec');
        expect(leaked(shown), shown).toEqual([]);
        if (got.error) expect(got.error).toMatch(/^(PLANEXEC_DB|--db|"db" in the config file \/etc\/planexec\.json \(PLANEXEC_CONFIG\)) postgres:\/\/planexec:\*\*\*@127\.0\.0\.1:55432\/planexec: not a valid PostgreSQL URL/);
        else expect(got.dbPath).toBe('postgres://planexec:***@127.0.0.1:55432/planexec');
      }
    });

    it(`with ${what}: the redactor masks it as written and decoded, in a message that quotes the URL or the password alone`, () => {
      const url = `postgres://planexec:${password}@127.0.0.1:55432/planexec`;
      const redact = secretRedactor(postgresPassword(url));
      const decoded = decodeURIComponent(password.replace(/%(?![0-9A-F]{2})/gi, '%25'));
      for (const text of [`connecting to ${url} failed`, `password "${password}" refused`, `password "${decoded}" refused`, JSON.stringify({ msg: `auth ${decoded}` })]) {
        expect(leaked(redact(text)), redact(text)).toEqual([]);
      }
    });

    it(`with ${what}: maskPostgresUrl hides it in a message quoting the URL and keeps the host`, () => {
      const masked = maskPostgresUrl(`could not connect to postgres://planexec:${password.replace(' ', '%20')}@db.internal:5432/x (timeout)`);
      expect(masked).toBe('could not connect to postgres://planexec:***@db.internal:5432/x (timeout)');
    });
  }

  it("refuses a URL whose password's unencoded '/' would make part of it the host, naming the setting", () => {
    const got = configOrError('postgres://planexec:Zq7@xK9/mW3@db.internal:5432/planexec', 'flag');
    expect(got.error).toMatch(/^--db postgres:\/\/planexec:\*\*\*@db\.internal:5432\/planexec: not a valid PostgreSQL URL: an '@' after the host/);
    expect(leaked(got.error!)).toEqual([]);
  });

  it('keeps a bare user and a URL without credentials as they are, and masks credentials that are not user:password whole', () => {
    expect(maskPostgresUrl('postgres://planexec@db/x and postgresql://db:5432/x')).toBe('postgres://planexec@db/x and postgresql://db:5432/x');
    expect(maskPostgresUrl('postgres://pl/an@db/x')).toBe('postgres://***@db/x');
  });

  it('the generic URL rule of the redactor masks a password with @ up to its last @', () => {
    expect(secretRedactor([])('GET https://user:Zq7@xK9@proxy.example/v1 failed')).toBe('GET https://[redacted]@proxy.example/v1 failed');
  });
});

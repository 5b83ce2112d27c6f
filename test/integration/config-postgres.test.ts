// PLANEXEC_DB as a PostgreSQL URL: what selects it, where the URL is kept (and its password not),
// and that a file path still means SQLite exactly as before.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secretRedactor } from '../../src/adapters/redact.js';
import { maskPostgresUrl } from '../../src/adapters/store/postgres-url.js';
import { checkPaths, ConfigError, loadConfig } from '../../src/config.js';

const CWD = resolve('/srv/project');
const URL_WITH_PASSWORD = 'postgres://planexec:s3cret%2Fpass@db.internal:5432/planexec';

describe('PLANEXEC_DB as a PostgreSQL URL', () => {
  it('selects PostgreSQL for postgres:// and postgresql:// URLs, from the environment, the file or --db', () => {
    expect(loadConfig({ PLANEXEC_DB: URL_WITH_PASSWORD }, { cwd: CWD }).dbUrl).toBe(URL_WITH_PASSWORD);
    expect(loadConfig({}, { cwd: CWD, file: { db: 'postgresql://db.internal/planexec' } }).dbUrl).toBe('postgresql://db.internal/planexec');
    expect(loadConfig({}, { cwd: CWD, overrides: { db: 'POSTGRES://db.internal/x' } }).dbUrl).toBe('POSTGRES://db.internal/x');
    expect(loadConfig({ PLANEXEC_DB: 'postgres:///planexec?host=/var/run/postgresql' }, { cwd: CWD }).dbUrl).toBe('postgres:///planexec?host=/var/run/postgresql');
  });

  it('keeps a file path (and :memory:) SQLite, resolved as before, with no URL', () => {
    const file = loadConfig({ PLANEXEC_DB: 'state/pg.db' }, { cwd: CWD });
    expect(file.dbUrl).toBeNull();
    expect(file.dbPath).toBe(join(CWD, 'state', 'pg.db'));
    expect(loadConfig({ PLANEXEC_DB: ':memory:' }, { cwd: CWD })).toMatchObject({ dbPath: ':memory:', dbUrl: null });
    // A folder named like a scheme is still a folder.
    expect(loadConfig({ PLANEXEC_DB: 'postgres/state.db' }, { cwd: CWD })).toMatchObject({ dbPath: join(CWD, 'postgres', 'state.db'), dbUrl: null });
  });

  it('shows the URL with its password masked in dbPath, keeps the URL out of the serialised config, and masks the password as a secret', () => {
    const config = loadConfig({ PLANEXEC_DB: URL_WITH_PASSWORD }, { cwd: CWD });
    expect(config.dbPath).toBe('postgres://planexec:***@db.internal:5432/planexec');
    expect(JSON.stringify(config)).not.toContain('s3cret');
    expect(config.secrets).toEqual(expect.arrayContaining(['s3cret%2Fpass', 's3cret/pass']));
    const redact = secretRedactor(config.secrets);
    expect(redact('auth failed for s3cret/pass and s3cret%2Fpass')).toBe('auth failed for [redacted] and [redacted]');
  });

  it('refuses a URL that does not parse, naming the setting and without the password', () => {
    let error: unknown;
    try {
      loadConfig({ PLANEXEC_DB: 'postgres://planexec:hunter2@db:notaport/x' }, { cwd: CWD });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^PLANEXEC_DB postgres:\/\/planexec:\*\*\*@db:notaport\/x: not a valid PostgreSQL URL/);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('checkPaths leaves the file system alone for a URL', () => {
    const home = mkdtempSync(join(tmpdir(), 'planexec-cfg-pg-'));
    try {
      const config = loadConfig({ PLANEXEC_DB: URL_WITH_PASSWORD, HOME: home, PLANEXEC_ROOT: home }, { cwd: home });
      checkPaths(config);
      expect(existsSync(join(home, '.local'))).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('maskPostgresUrl masks the password of every postgres URL in a text and nothing else', () => {
    expect(maskPostgresUrl('from postgres://a:b@h/d and postgresql://c:d%40e@h2:1/x?sslmode=require, not https://u:p@h')).toBe(
      'from postgres://a:***@h/d and postgresql://c:***@h2:1/x?sslmode=require, not https://u:p@h',
    );
    expect(maskPostgresUrl('postgres://only-user@h/d')).toBe('postgres://only-user@h/d');
  });
});

// The built binary started on a PostgreSQL database it cannot open: every such failure exits 2 with
// a message that names the setting the URL came from (PLANEXEC_DB, --db, "db" in the config file),
// says what to do, and holds no piece of the password, whatever characters it has. A cluster of its
// own (test/support/pg-cluster.ts) that asks for passwords (the shared test cluster trusts everyone).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { spawnServer, type RawServer } from '../support/spawn.js';

const PASSWORD = 'Zq7@xK9@mW3';
// Each password's pieces are distinctive: finding one in the output means a piece leaked.
const PIECES = ['Zq7', 'xK9', 'mW3'];
let cluster: PgCluster;
let hbaDir: string;
let port: number;
let dir: string;
const servers: RawServer[] = [];

beforeAll(async () => {
  // Readable by the `postgres` user the cluster runs as when the tests run as root.
  hbaDir = mkdtempSync(join('/tmp', 'planexec-hba-'));
  chmodSync(hbaDir, 0o755);
  const hba = join(hbaDir, 'pg_hba.conf');
  writeFileSync(hba, 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n', { mode: 0o644 });
  cluster = await startPgCluster({ settings: { hba_file: hba } });
  port = Number(new URL(cluster.url).port);
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query(`CREATE ROLE planexec LOGIN PASSWORD '${PASSWORD}'`);
  await admin.query('CREATE DATABASE planexec OWNER planexec');
  await admin.end();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
  rmSync(hbaDir, { recursive: true, force: true });
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-pg-start-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGKILL');
      await s.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

type Source = 'PLANEXEC_DB' | '--db' | 'file';

/** The server started with `url` given through `source`. */
function spawn(url: string, source: Source, extra: Record<string, string> = {}): RawServer {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, OPENAI_API_KEY: 'test-key', PLANEXEC_ROOT: dir, PLANEXEC_LOG_LEVEL: 'info', ...extra };
  let args: string[] = [];
  if (source === 'PLANEXEC_DB') env.PLANEXEC_DB = url;
  else if (source === '--db') args = ['--db', url];
  else {
    writeFileSync(join(dir, 'planexec.json'), JSON.stringify({ db: url }));
    env.PLANEXEC_CONFIG = join(dir, 'planexec.json');
  }
  const server = spawnServer(env, { args });
  servers.push(server);
  return server;
}

const settingOf = (source: Source) => (source === 'file' ? `"db" in the config file ${join(dir, 'planexec.json')} (PLANEXEC_CONFIG)` : source);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Starts a server expected to refuse; its stderr, checked for the exit code, the setting and leaks. */
async function refusal(url: string, source: Source): Promise<string> {
  const server = spawn(url, source);
  expect(await server.exited, server.stderr()).toBe(2);
  const stderr = server.stderr();
  expect(stderr).toMatch(new RegExp(`^planexec: ${escape(settingOf(source))} postgres(ql)?://`, 'm'));
  expect(PIECES.filter((p) => stderr.includes(p)), stderr).toEqual([]);
  expect(stderr).not.toMatch(/resumed/);
  expect(server.lines).toEqual([]);
  return stderr;
}

describe('a PostgreSQL database that cannot be opened at start-up', () => {
  it('starts with a right password that holds @ (written raw), and logs no piece of it', async () => {
    const server = spawn(`postgres://planexec:${PASSWORD}@127.0.0.1:${port}/planexec`, '--db');
    await server.initialize();
    const stderr = server.stderr();
    expect(stderr).toContain('planexec ready');
    expect(stderr).toMatch(new RegExp(`"db":"postgres://(planexec:\\*\\*\\*|\\[redacted\\])@127\\.0\\.0\\.1:${port}/planexec"`));
    expect(PIECES.filter((p) => stderr.includes(p)), stderr).toEqual([]);
  });

  const wrong: Array<[string, string, Source]> = [
    ['two @', 'Zq7@xK9@mW3x', 'PLANEXEC_DB'],
    ['a colon', 'Zq7:xK9', '--db'],
    ['percent-encoding', 'Zq7%2FxK9%40mW3', 'file'],
    ['an unencoded slash', 'Zq7/xK9', '--db'],
    ['an unencoded question mark', 'Zq7?xK9', 'PLANEXEC_DB'],
    ['@ and / together', 'Zq7@xK9/mW3', 'file'],
  ];
  for (const [what, password, source] of wrong) {
    it(`a wrong password with ${what}, from ${source}: exits 2 naming the setting and what to do, without any piece of it`, async () => {
      const stderr = await refusal(`postgres://planexec:${password}@127.0.0.1:${port}/planexec`, source);
      // A URL that parses reaches the server and is refused; one that does not is refused before.
      expect(stderr).toMatch(/cannot open the database: PostgreSQL refused the connection \(28P01|not a valid PostgreSQL URL/);
      expect(stderr).toMatch(new RegExp(`Correct the user and password in ${escape(settingOf(source))}|percent-encoded`));
    });
  }

  it('a database that does not exist: exits 2 naming PLANEXEC_DB, and says to create it', async () => {
    const stderr = await refusal(`postgres://planexec:${PASSWORD}@127.0.0.1:${port}/nosuchdb`, 'PLANEXEC_DB');
    expect(stderr).toMatch(/cannot open the database: the database does not exist \(3D000/);
    expect(stderr).toContain('Create the database on the server (createdb, or CREATE DATABASE), or name an existing one in PLANEXEC_DB.');
  });

  it('a search_path schema that does not exist: exits 2 naming the config file key, and says to create it', async () => {
    const stderr = await refusal(`postgres://planexec:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/planexec?options=-c%20search_path%3Dnosuch`, 'file');
    expect(stderr).toMatch(/cannot open the database: the search_path names no schema that exists/);
    expect(stderr).toContain(`Create the schema on the server (CREATE SCHEMA), or name an existing one in the search_path of ${settingOf('file')}`);
  });

  it('sslmode=require on a server without TLS: exits 2 naming --db and sslmode', async () => {
    const stderr = await refusal(`postgres://planexec:${PASSWORD}@127.0.0.1:${port}/planexec?sslmode=require`, '--db');
    expect(stderr).toMatch(/cannot open the database: the TLS connection failed/);
    expect(stderr).toMatch(/does not accept TLS while --db asks for it \(sslmode\): remove sslmode from --db/);
  });

  it('a refused connection: exits 2 naming --db, and says to check the server is running', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const stderr = await refusal(`postgres://planexec:${PASSWORD}@127.0.0.1:${closed}/planexec`, '--db');
    expect(stderr).toMatch(/cannot open the database: .*ECONNREFUSED/);
    expect(stderr).toContain('Check that the PostgreSQL server runs and can be reached from here (host, port, firewall), or set --db to another database');
  });
});

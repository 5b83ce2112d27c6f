// A throw-away PostgreSQL cluster for tests and the bench: initdb into a temporary folder, start it
// on a free loopback port (its unix socket in that folder too), stop it and delete the folder.
// PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user (runuser).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres: the cluster's superuser on its default database (trust auth, no password). */
  url: string;
  /** Stops the server (fast shutdown) and deletes its folder. */
  stop(): Promise<void>;
}

export interface PgClusterOptions {
  /** Server settings (-c name=value) on top of the test defaults below. */
  settings?: Record<string, string>;
}

/** Debian's layout (/usr/lib/postgresql/<major>/bin), newest first, else whatever `initdb` PATH finds. */
export function findPgBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(root, majors[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : '';
  return path ? join(path, '..') : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Creates and starts a cluster. Throws an Error that says what to install or set when PostgreSQL
 * is not on this machine or does not start (with the tail of the server's log).
 */
export async function startPgCluster(opts: PgClusterOptions = {}): Promise<PgCluster> {
  const bin = findPgBin();
  if (!bin) {
    throw new Error(
      'PostgreSQL is not installed: the tests of the PostgreSQL store need its server binaries (initdb, pg_ctl). Install them (Debian: apt-get install postgresql-15) or set PLANEXEC_TEST_PG_URL to a database the tests may use.',
    );
  }
  const asRoot = process.getuid?.() === 0;
  let uid = -1;
  let gid = -1;
  if (asRoot) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error('PostgreSQL will not run as root and there is no `postgres` user to run it as: create one (Debian\'s postgresql package does) or set PLANEXEC_TEST_PG_URL.');
    uid = Number(ids.stdout.trim());
    gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  }
  // As root, /tmp: the `postgres` user must be able to reach the folder (a TMPDIR under /root is not).
  const dir = mkdtempSync(join(asRoot ? '/tmp' : tmpdir(), 'planexec-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (asRoot) {
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  // As root, run each PostgreSQL program as `postgres`; no stdin (CI has none).
  const run = (program: string, args: string[]) => {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args];
    return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, encoding: 'utf8' });
  };
  const fail = (what: string, error: unknown): never => {
    const e = error as { stderr?: string; message?: string };
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${what} failed: ${e.stderr || e.message}\n${tail}`);
  };
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  } catch (error) {
    fail('initdb', error);
  }
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    max_connections: '300',
    // A test cluster is thrown away: no fsync.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...opts.settings,
  };
  const conf = join(data, 'postgresql.auto.conf');
  writeFileSync(conf, Object.entries(settings).map(([k, v]) => `${k} = '${v}'\n`).join(''));
  if (asRoot) chownSync(conf, uid, gid);
  try {
    run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', 'start']);
  } catch (error) {
    fail('pg_ctl start', error);
  }
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
      } catch {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } catch {
          // Gone already; the folder goes anyway.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

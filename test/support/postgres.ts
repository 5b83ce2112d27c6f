// The PostgreSQL server of the test run (see pg-global-setup.ts), and a fresh schema per store:
// each test gets empty tables of its own in the one server, whatever runs beside it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { openPostgresStore, type OpenedPostgres, type PostgresOptions } from '../../src/adapters/store/postgres.js';

/** The server's admin URL. Throws (failing the test, never skipping it) when the run has none, saying why. */
export function pgServerUrl(): string {
  const url = inject('pgUrl');
  if (url) return url;
  throw new Error(`This test needs a PostgreSQL server and the run has none: ${inject('pgError') ?? 'the globalSetup test/support/pg-global-setup.ts did not run'}`);
}

const schemas: string[] = [];
let admin: pg.Client | null = null;

async function adminClient(): Promise<pg.Client> {
  if (!admin) {
    const client = new pg.Client({ connectionString: pgServerUrl() });
    await client.connect();
    admin = client;
  }
  return admin;
}

/** The schema a freshPgUrl URL names. */
export function schemaOf(url: string): string {
  return new URL(url).searchParams.get('application_name')!;
}

/** Drops every connection made through a freshPgUrl URL (as a server restart or a network cut would). */
export async function dropConnections(url: string): Promise<number> {
  return (await adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [schemaOf(url)])).length;
}

/** Runs one statement as the server's admin user (tests inspect or break the server with it). */
export async function adminQuery<R extends object = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<R[]> {
  return (await (await adminClient()).query(text, values)).rows as R[];
}

/**
 * A URL to a new, empty schema of the server (its search_path set through the URL's `options`), as
 * a user would give PLANEXEC_DB; its connections' application_name is the schema's name. The
 * schemas are dropped after the file's tests.
 */
export async function freshPgUrl(): Promise<string> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA ${schema}`);
  schemas.push(schema);
  const url = new URL(pgServerUrl());
  url.searchParams.set('options', `-c search_path=${schema}`);
  // Its connections carry the schema's name, so a test can find (and drop) them and only them.
  url.searchParams.set('application_name', schema);
  return url.toString();
}

const opened: OpenedPostgres[] = [];

/** openPostgresStore on a fresh schema; closed after the file's tests (or by the test). */
export async function openFreshPg(opts: PostgresOptions = {}): Promise<OpenedPostgres & { url: string }> {
  const url = await freshPgUrl();
  const o = await openPostgresStore(url, opts);
  opened.push(o);
  return { ...o, url };
}

/**
 * A PostgreSQL store for contract tests that each want empty tables: one fresh schema per test
 * file, migrated once (a migration costs a few hundred ms), and emptied (TRUNCATE, ids restarted)
 * at every call.
 */
export function emptyPgStores(): () => Promise<OpenedPostgres> {
  let shared: Promise<OpenedPostgres> | null = null;
  return async () => {
    shared ??= openFreshPg();
    const o = await shared;
    const tables = ['workflows', 'plans', 'subtasks', 'model_calls', 'executions', 'reviews', 'decisions', 'owners', 'tasks', 'planner_turns', 'changes'];
    await o.pool.query(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY CASCADE`);
    return o;
  };
}

afterAll(async () => {
  for (const o of opened.splice(0)) await o.close().catch(() => undefined);
  if (admin) {
    for (const schema of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end().catch(() => undefined);
    admin = null;
  }
});

// PostgreSQL through Kysely over node-postgres (pg). A pool of connections per process; every
// transaction holds one pooled client from BEGIN to COMMIT, so it holds across awaits. Writers of one
// workflow are serialised by a row lock on the workflow (see KyselyStore); other workflows go on in
// parallel, in this process and in others on other machines. Storage failures become StorageError
// (a lost connection: reason 'connection'); the pool never lets a broken connection crash the process.
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely';
import type { Pool, PoolClient } from 'pg';
import { StorageError, type StorageFailure } from '../../core/errors.js';
import { KyselyStore, migrateToLatest } from './kysely-store.js';
import { asPgOpenError, DatabaseOpenError } from './open-failure.js';
import { maskPostgresUrl } from './postgres-url.js';
import type { Tables } from './schema.js';

/** Options of openPostgresStore. */
export interface PostgresOptions {
  /** Connections this process keeps at most (default 10). Transactions beyond it wait for one. */
  poolSize?: number;
  /** How long to wait for a new connection before StorageError(connection), in ms (default 10 s). */
  connectTimeoutMs?: number;
  /** Told about a pooled connection that failed while idle (the pool drops it and opens another when needed). */
  onIdleError?: (error: StorageError) => void;
}

/** A connected, migrated PostgreSQL database (openPostgresStore). */
export interface OpenedPostgres {
  /** The store over the database: every port of src/core/ports.ts Store. */
  store: KyselyStore;
  /** The pool underneath (tests inspect the server through it). */
  pool: Pool;
  /** Ends the pool (Kysely's destroy): waits for its connections to close; the store cannot be used afterwards. */
  close(): Promise<void>;
}

// Type oids (pg_type): int8 (count, sum of integers and bigint columns), numeric (sum of bigints).
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Connects to PostgreSQL at `url` (postgres://user:password@host:port/database; `?options=-c
 * search_path=name` puts planexec's tables in that schema), and migrates it (migrations are
 * serialised across processes by Kysely's advisory lock). int8 and numeric values come back as JS
 * numbers (planexec's are epoch milliseconds and token counts, far below 2^53). Throws StorageError
 * (connection) when the server cannot be reached, DatabaseOpenError when it refuses planexec
 * (authentication, a database or schema that does not exist, TLS) or holds migrations this planexec
 * does not know (openFailureMessage turns either into the start-up message), and anything else
 * unchanged. No message names a setting or carries the URL's password (maskPostgresUrl).
 */
export async function openPostgresStore(url: string, opts: PostgresOptions = {}): Promise<OpenedPostgres> {
  const { default: pg } = await import('pg');
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID || oid === NUMERIC_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text'),
  };
  const poolSize = opts.poolSize ?? 10;
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'planexec',
    types: types as never,
  });
  // An idle client whose connection dies emits 'error' on the pool (and a checked-out one on itself,
  // between two statements of a transaction): unhandled, either would end the process.
  pool.on('error', (error) => opts.onIdleError?.(asPgStorageError(error) ?? new StorageError('connection', error.message)));
  pool.on('connect', (client) => client.on('error', () => undefined));

  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: mappedPool(pool, poolSize) }) });
  try {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const schema = rows[0]?.schema;
    if (!schema) throw new DatabaseOpenError('schema', 'the search_path names no schema that exists');
    await migrateToLatest(db, 'postgres', schema);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw asPgOpenError(error);
  }
  return { store: new KyselyStore(db, 'postgres'), pool, close: () => db.destroy() };
}

/**
 * The pool as Kysely sees it, with every failure of a query or a connection mapped to StorageError.
 * A pooled connection may have died while idle without the pool knowing yet (the server restarted,
 * a proxy dropped it): when the first statement sent on a checked-out connection fails because the
 * connection is gone, and that statement cannot have taken effect (BEGIN or a read, or the server
 * said it was terminating the session), it is sent again on another connection, up to `retries`
 * times. So is a first statement whose prepared form went stale because another process migrated
 * the tables; later in a transaction that is StorageError(connection), and the connection is
 * dropped when released. Anything else is the caller's StorageError.
 */
function mappedPool(pool: Pool, retries: number): PostgresPool {
  const acquire = async (): Promise<PoolClient> => {
    try {
      return await pool.connect();
    } catch (error) {
      throw asPgStorageError(error) ?? error;
    }
  };
  return {
    async connect() {
      // null: the connection died and no other could be had; the caller is told, and release is a no-op.
      let client: PoolClient | null = await acquire();
      let first = true;
      const query = async (text: string, parameters: readonly unknown[]) => {
        for (let attempt = 0; ; attempt++) {
          if (!client) throw new StorageError('connection', 'the connection to PostgreSQL was lost and no other could be had');
          const firstOnThisClient = first;
          first = false;
          try {
            const name = statementName(text, parameters);
            const result = name ? await client.query({ name, text, values: parameters as unknown[] }) : await client.query(text, parameters as unknown[]);
            return result as unknown as PostgresQueryResult<unknown>;
          } catch (error) {
            if (stalePlan(error)) {
              // Its prepared statements are stale: this connection goes, another one prepares them anew.
              if (!firstOnThisClient || attempt >= retries) {
                dropOnRelease = true;
                throw new StorageError('connection', `the tables changed under this connection (a newer planexec migrated the database; ${(error as Error).message}); it was dropped`);
              }
            } else {
              const storage = asPgStorageError(error);
              if (!firstOnThisClient || storage?.reason !== 'connection' || attempt >= retries || !harmless(text, error)) throw storage ?? error;
            }
            client.release(true);
            client = null;
            client = await acquire();
            first = true;
          }
        }
      };
      let dropOnRelease = false;
      const release = (destroy?: boolean) => {
        client?.release(destroy || dropOnRelease);
        client = null;
      };
      return { query: query as PostgresPoolClient['query'], release };
    },
    end: () => pool.end(),
  };
}

// Prepared statements. planexec sends a few dozen statement shapes over and over; a named statement
// is parsed and planned once per connection (node-postgres remembers which it prepared), which
// halves the time and client CPU of a simple query (measured: 388 -> 158 us on loopback). Names
// are given to the first MAX_PREPARED shapes with parameters; others (rare: multi-row inserts of
// unusual sizes) go unnamed.
const MAX_PREPARED = 500;
const statementNames = new Map<string, string>();

function statementName(text: string, parameters: readonly unknown[]): string | null {
  if (parameters.length === 0) return null;
  let name = statementNames.get(text);
  if (!name && statementNames.size < MAX_PREPARED) {
    name = `planexec_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name ?? null;
}

/**
 * A prepared statement whose tables gained or lost columns since it was prepared (feature_not_supported
 * "cached plan must not change result type"): another process applied a migration. It did not run.
 */
function stalePlan(error: unknown): boolean {
  return (error as { code?: unknown }).code === '0A000' && /cached plan must not change result type/i.test((error as Error).message);
}

/** Whether a statement that failed with a lost connection cannot have taken effect. */
function harmless(text: string, error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return /^\s*(begin|select|start transaction)\b/i.test(text) || code === '57P01' || code === '57P02';
}

// SQLSTATE codes (PostgreSQL manual, appendix A "Error Codes") of failures of the storage itself.
const SQLSTATE: Array<[RegExp, StorageFailure]> = [
  [/^08/, 'connection'], // connection_exception and its subclasses
  [/^57P0[123]$/, 'connection'], // admin_shutdown, crash_shutdown, cannot_connect_now
  [/^53100$/, 'full'], // disk_full
  [/^25006$/, 'read_only'], // read_only_sql_transaction (a standby)
  [/^XX00[12]$/, 'corrupt'], // data_corrupted, index_corrupted
  [/^58030$/, 'io'], // io_error
  [/^(40001|40P01|55P03|57014|53300|53200)$/, 'busy'], // serialization, deadlock, lock/statement timeout, too many connections, out of memory
];

// node-postgres's own errors for a connection that is gone or cannot be had (they carry no SQLSTATE).
const LOST = /Connection terminated|connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect|Connection ended|connect ETIMEDOUT/i;
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/** A pg (or socket) failure of the storage itself as a StorageError; null for other errors (constraints, SQL). */
function asPgStorageError(error: unknown): StorageError | null {
  if (error instanceof StorageError) return error;
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  const detail = maskPostgresUrl(error.message);
  if (typeof code === 'string') {
    if (NET_CODES.has(code)) return new StorageError('connection', `${code}: ${detail}`);
    const found = SQLSTATE.find(([pattern]) => pattern.test(code));
    if (found) return new StorageError(found[1], `${code}: ${detail}`);
  }
  if (LOST.test(error.message)) return new StorageError('connection', detail);
  return null;
}

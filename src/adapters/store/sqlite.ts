// SQLite through Kysely over better-sqlite3. One connection per process, so statements and
// transactions queue on an async mutex. Writers take SQLite's write lock with BEGIN IMMEDIATE; while
// another process holds it, the wait is asynchronous (short busy_timeout, then back off and retry),
// so the event loop never freezes for seconds. Storage failures become StorageError.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
} from 'kysely';
import { StorageError, type StorageFailure } from '../../core/errors.js';
import { CURRENT_USER_VERSION, upgradeLegacy } from './legacy/index.js';
import { KyselyStore, migrateToLatest } from './kysely-store.js';
import type { Tables } from './schema.js';

/** Options of openSqliteStore. */
export interface SqliteOptions {
  /**
   * How long a writer waits for another process's write lock before answering StorageError(busy),
   * in ms (default 30 s). The wait is asynchronous: other work of this process goes on.
   */
  lockWaitMs?: number;
}

/** SQLite's own (blocking) wait per attempt at the write lock, in ms: short, so the event loop stays free. */
const BUSY_TIMEOUT_MS = 20;

/** An open, migrated SQLite database (openSqliteStore). */
export interface OpenedSqlite {
  /** The store over the file: every port of src/core/ports.ts Store. */
  store: KyselyStore;
  /** The raw connection, for tests and tools that inspect the file. */
  raw: Database.Database;
  /** Closes the connection (Kysely's destroy); the store cannot be used afterwards. */
  close(): Promise<void>;
}

/**
 * Opens (creating the file with mode 0600 and its folders 0700) and migrates a SQLite database.
 * `path` may be ':memory:'. Throws StorageError when the file cannot be used.
 */
export async function openSqliteStore(path: string, opts: SqliteOptions = {}): Promise<OpenedSqlite> {
  let raw: Database.Database;
  try {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // Create the file ourselves so it is 0600 from the first byte; SQLite gives -wal/-shm the same mode.
      closeSync(openSync(path, 'a', 0o600));
    }
    raw = new Database(path);
    raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
  } catch (error) {
    throw asStorageError(error) ?? error;
  }
  const lockWaitMs = opts.lockWaitMs ?? 30_000;
  try {
    await withLockRetry(lockWaitMs, async () => upgradeLegacy(raw));
  } catch (error) {
    raw.close();
    throw asStorageError(error) ?? error;
  }
  const db = new Kysely<Tables>({ dialect: sqliteDialect(raw, lockWaitMs) });
  try {
    // Creating the migration tables may meet another process's write lock: wait for it as for any write.
    await withLockRetry(lockWaitMs, () => migrateToLatest(db));
    raw.pragma(`user_version = ${CURRENT_USER_VERSION}`);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { store: new KyselyStore(db, 'sqlite'), raw, close: () => db.destroy() };
}

function sqliteDialect(raw: Database.Database, lockWaitMs: number): Dialect {
  return {
    createAdapter: () => new MigratingSqliteAdapter(),
    createDriver: () => new ImmediateSqliteDriver(raw, lockWaitMs),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

/**
 * Kysely's SQLite adapter, but migrations run in one transaction (SQLite's DDL is transactional):
 * with our BEGIN IMMEDIATE, processes that open a new file at once migrate it one after the other,
 * each reading what the one before applied. (Kysely's own SQLite adapter runs them outside a
 * transaction with no lock between processes, so all but one failed on planexec_migrations.)
 */
class MigratingSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * Kysely's SQLite driver, but: BEGIN IMMEDIATE; while another process holds the write lock, the
 * wait is asynchronous and lets go of the connection between attempts (so this process's reads go
 * on); cached statements; typed storage errors.
 */
class ImmediateSqliteDriver implements Driver {
  private readonly connection: CachedConnection;
  private readonly mutex = new Mutex();

  constructor(
    private readonly raw: Database.Database,
    private readonly lockWaitMs: number,
  ) {
    this.connection = new CachedConnection(raw);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return this.connection;
  }

  async beginTransaction(): Promise<void> {
    const end = Date.now() + this.lockWaitMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
      try {
        this.connection.exec('begin immediate');
        return;
      } catch (error) {
        const storage = asStorageError(error);
        if (storage?.reason !== 'busy' || Date.now() >= end) throw storage ?? error;
      }
      // No transaction is open on our connection: let the rest of this process use it meanwhile.
      this.mutex.unlock();
      await sleep(delay);
      await this.mutex.lock();
    }
  }

  async commitTransaction(): Promise<void> {
    await withLockRetry(this.lockWaitMs, async () => {
      this.connection.exec('commit');
    });
  }

  async rollbackTransaction(): Promise<void> {
    if (this.raw.inTransaction) this.connection.exec('rollback');
  }

  async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }

  async destroy(): Promise<void> {
    if (this.raw.open) this.raw.close();
  }
}

/** One holder at a time, first come first served. */
class Mutex {
  private held = false;
  private readonly waiting: Array<() => void> = [];

  async lock(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  unlock(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }
}

class CachedConnection implements DatabaseConnection {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly raw: Database.Database) {}

  exec(text: string): void {
    try {
      this.raw.exec(text);
    } catch (error) {
      throw asStorageError(error) ?? error;
    }
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      let stmt = this.statements.get(query.sql);
      if (!stmt) {
        stmt = this.raw.prepare(query.sql);
        this.statements.set(query.sql, stmt);
      }
      const params = query.parameters as unknown[];
      if (stmt.reader) return { rows: stmt.all(...params) as R[] };
      const { changes, lastInsertRowid } = stmt.run(...params);
      return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
    } catch (error) {
      throw asStorageError(error) ?? error;
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('planexec does not stream SQLite queries');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, retrying with back-off (async) while the database is busy, for at most `waitMs`. */
async function withLockRetry<T>(waitMs: number, fn: () => Promise<T>): Promise<T> {
  const end = Date.now() + waitMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    try {
      return await fn();
    } catch (error) {
      const storage = asStorageError(error);
      if (storage?.reason !== 'busy' || Date.now() >= end) throw storage ?? error;
      await sleep(delay);
    }
  }
}

const FAILURES: Array<[RegExp, StorageFailure]> = [
  [/^SQLITE_FULL/, 'full'],
  [/^SQLITE_READONLY/, 'read_only'],
  [/^SQLITE_(CORRUPT|NOTADB)/, 'corrupt'],
  [/^SQLITE_(BUSY|LOCKED)/, 'busy'],
  [/^SQLITE_(IOERR|CANTOPEN|PERM)/, 'io'],
];

/** A better-sqlite3 (or file system) failure of the storage itself as a StorageError; null for other errors. */
export function asStorageError(error: unknown): StorageError | null {
  if (error instanceof StorageError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  const found = FAILURES.find(([pattern]) => pattern.test(code));
  if (found) return new StorageError(found[1], `${code}: ${(error as Error).message}`);
  if (code === 'EACCES' || code === 'EROFS') return new StorageError('read_only', `${code}: ${(error as Error).message}`);
  if (code === 'ENOSPC') return new StorageError('full', `${code}: ${(error as Error).message}`);
  return null;
}

// Column types and table creation that differ between SQLite and PostgreSQL, so each migration is
// written once. SQLite tables are STRICT (types enforced); its INTEGER is 64-bit, PostgreSQL's is not.
import { sql, type CreateTableBuilder, type Kysely } from 'kysely';
import type { Dialect } from '../schema.js';

type Builder = CreateTableBuilder<any, any>;

/**
 * The column types that differ by dialect: `int` (integer: small counts), `int64` (SQLite INTEGER,
 * PostgreSQL BIGINT: epoch ms and token counts) and `serial(b, name)`, which adds an auto-numbered
 * primary key column `name` to a table builder. Never throws.
 */
export function columnTypes(dialect: Dialect) {
  const sqlite = dialect === 'sqlite';
  return {
    /** Small counts (versions, positions, attempts). */
    int: 'integer' as const,
    /** Epoch milliseconds and token counts. */
    int64: sqlite ? ('integer' as const) : ('bigint' as const),
    /** An auto-numbered primary key: SQLite's rowid alias, PostgreSQL's identity column. */
    serial: (b: Builder, name: string): Builder =>
      sqlite ? b.addColumn(name, 'integer', (c) => c.primaryKey()) : b.addColumn(name, 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity()),
  };
}

/**
 * Creates table `name` unless it exists, its columns added by `build`; STRICT on SQLite. Rejects with
 * the database's error when the statement fails (StorageError when the storage itself fails).
 */
export async function createTable(db: Kysely<unknown>, dialect: Dialect, name: string, build: (b: Builder) => Builder): Promise<void> {
  let builder = build(db.schema.createTable(name).ifNotExists());
  if (dialect === 'sqlite') builder = builder.modifyEnd(sql`strict`);
  await builder.execute();
}

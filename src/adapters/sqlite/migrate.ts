// Ordered migrations; the number applied is kept in SQLite's user_version.
import type Database from 'better-sqlite3';
import * as initial from './migrations/001-initial.js';
import * as executions from './migrations/002-executions.js';
import * as leases from './migrations/003-leases-and-tasks.js';
import * as decisions from './migrations/004-decisions.js';
import * as plannerSummary from './migrations/005-planner-summary.js';
import * as planVersions from './migrations/006-plan-versions.js';
import * as reservations from './migrations/007-reservations-and-files.js';

export interface Migration {
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [initial, executions, leases, decisions, plannerSummary, planVersions, reservations];

/** Applies the migrations this database has not seen, each in its own transaction. Returns the names applied. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): string[] {
  const applied: string[] = [];
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(`The database is at schema version ${current}, newer than this planexec knows (${migrations.length}); upgrade planexec or point PLANEXEC_DB elsewhere.`);
  }
  for (const [index, migration] of migrations.entries()) {
    const version = index + 1;
    if (version <= current) continue;
    db.transaction(() => {
      // Another process may have migrated between our read and our write lock.
      if ((db.pragma('user_version', { simple: true }) as number) >= version) return;
      db.exec(migration.sql);
      db.pragma(`user_version = ${version}`);
      applied.push(migration.name);
    }).immediate();
  }
  return applied;
}

// planexec 0.1 kept its SQLite schema version in user_version (migrations 001-007 below). A file it
// left at an older version is first brought to version 7 with its own SQL; from there the Kysely
// migrations take over (their baseline is that schema, so it adds nothing).
import type Database from 'better-sqlite3';
import * as initial from './001-initial.js';
import * as executions from './002-executions.js';
import * as leases from './003-leases-and-tasks.js';
import * as decisions from './004-decisions.js';
import * as plannerSummary from './005-planner-summary.js';
import * as planVersions from './006-plan-versions.js';
import * as reservations from './007-reservations-and-files.js';

const LEGACY: ReadonlyArray<{ name: string; sql: string }> = [initial, executions, leases, decisions, plannerSummary, planVersions, reservations];

/** user_version of a file migrated by this planexec; planexec 0.1 refuses it as "newer" (it knew 7). */
export const CURRENT_USER_VERSION = 100;

/**
 * Brings a planexec 0.1 file (user_version 1-6) to its version 7, each step in a BEGIN IMMEDIATE
 * transaction. Returns the names applied. A new file (0) or a migrated one (7, 100) is left alone.
 * Throws when the file is newer than this planexec knows.
 */
export function upgradeLegacy(db: Database.Database): string[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > CURRENT_USER_VERSION) {
    throw new Error(`The database is at schema version ${current}, newer than this planexec knows; upgrade planexec or point PLANEXEC_DB elsewhere.`);
  }
  if (current === 0 || current >= LEGACY.length) return [];
  const applied: string[] = [];
  for (const [index, migration] of LEGACY.entries()) {
    const version = index + 1;
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

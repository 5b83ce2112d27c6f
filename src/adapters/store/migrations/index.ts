import type { Migration } from 'kysely';
import type { Dialect } from '../schema.js';
import { baseline } from './001-baseline.js';
import { usageAndTurns } from './002-usage-and-turns.js';
import { workflowRoot } from './003-workflow-root.js';
import { changes } from './004-changes.js';
import { callProvider } from './005-call-provider.js';
import { workflowRequester } from './006-workflow-requester.js';

/**
 * The ordered migrations for `dialect`, by name (one set for both dialects): Kysely's Migrator applies
 * them in name order and records each name in planexec_migrations. Add a new file for every change,
 * never edit an applied one. Never throws.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001-baseline': baseline(dialect),
    '002-usage-and-turns': usageAndTurns(dialect),
    '003-workflow-root': workflowRoot(),
    '004-changes': changes(dialect),
    '005-call-provider': callProvider(),
    '006-workflow-requester': workflowRequester(),
  };
}

/** The table in which Kysely's Migrator records each applied migration by name (instead of its default kysely_migration). */
export const MIGRATION_TABLE = 'planexec_migrations';
/** The table holding the Migrator's lock row, so processes that open one database at once migrate it one at a time. */
export const MIGRATION_LOCK_TABLE = 'planexec_migration_lock';

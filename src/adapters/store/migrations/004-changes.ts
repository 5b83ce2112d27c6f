import type { Kysely } from 'kysely';
import type { Dialect } from '../schema.js';
import { columnTypes, createTable } from './types.js';

/**
 * Migration 004-changes: adds subtasks.writes and subtasks.checks (JSON, default '[]'),
 * executions.changes and executions.checks (JSON, nullable), and the changes table (one row per
 * workflow, keyed by workflow_id). Why:
 *
 * Changes: executors edit code in a git worktree per workflow, checks verify it.
 * - subtasks.writes / subtasks.checks: the plan's write set and proposed checks (JSON string[]);
 * - executions.changes / executions.checks: what an attempt changed (commit, files, rejected
 *   operations, its diff) and how its checks ended (JSON; null for text-only subtasks);
 * - changes: one row per workflow: the worktree and branch, the base and the head planexec recorded,
 *   the host's checks and how they ended on the base, the final checks, the merge, and the lock that
 *   makes applying, committing and checking one at a time per workflow (across processes).
 *
 * Returns a Kysely Migration ({ up }) for `dialect`; `up` rejects with the database's error when a
 * statement fails (StorageError when the storage itself fails: busy, full, connection lost).
 */
export function changes(dialect: Dialect) {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('subtasks').addColumn('writes', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await db.schema.alterTable('subtasks').addColumn('checks', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await db.schema.alterTable('executions').addColumn('changes', 'text').execute();
      await db.schema.alterTable('executions').addColumn('checks', 'text').execute();
      await createTable(db, dialect, 'changes', (b) =>
        b
          .addColumn('workflow_id', 'text', (c) => c.primaryKey().references('workflows.id'))
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('repo', 'text')
          .addColumn('branch', 'text')
          .addColumn('worktree', 'text')
          .addColumn('prefix', 'text', (c) => c.notNull().defaultTo(''))
          .addColumn('base', 'text')
          .addColumn('head', 'text')
          .addColumn('files', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('host_checks', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('base_checks', 'text')
          .addColumn('final_checks', 'text')
          .addColumn('merged', 'text')
          .addColumn('discarded', t.int, (c) => c.notNull().defaultTo(0))
          .addColumn('lock_owner', 'text')
          .addColumn('created_at', t.int64, (c) => c.notNull())
          .addColumn('updated_at', t.int64, (c) => c.notNull()),
      );
    },
  };
}

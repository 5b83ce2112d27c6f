import type { Kysely } from 'kysely';

/**
 * Migration 003-workflow-root: adds workflows.root (TEXT, nullable). Why:
 *
 * The workspace root a workflow was planned in (PLANEXEC_ROOT, or the folder the MCP host named as
 * its root), so every later execution reads the same tree, whichever process or session runs it.
 * Null for workflows made before it was recorded (they use the configured root) or without a root.
 *
 * Returns a Kysely Migration ({ up }), the same SQL for both dialects; `up` rejects with the
 * database's error when the statement fails (StorageError when the storage itself fails: busy, full,
 * connection lost).
 */
export function workflowRoot() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('workflows').addColumn('root', 'text').execute();
    },
  };
}

import type { Kysely } from 'kysely';

/**
 * Migration 006-workflow-requester: adds workflows.requester (TEXT, nullable) and the index
 * workflows_by_requester (requester, updated_at). Why:
 *
 * Who asked for each workflow (the HTTP token's name, PLANEXEC_REQUESTER, or the MCP client's
 * declared name; src/mcp/requester.ts), so workflow_status can list and total one requester's
 * workflows: the ledger of a server a team shares. Null for workflows made before it was recorded.
 *
 * Returns a Kysely Migration ({ up }), the same SQL for both dialects; `up` rejects with the
 * database's error when a statement fails (StorageError when the storage itself fails: busy, full,
 * connection lost).
 */
export function workflowRequester() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('workflows').addColumn('requester', 'text').execute();
      await db.schema.createIndex('workflows_by_requester').ifNotExists().on('workflows').columns(['requester', 'updated_at']).execute();
    },
  };
}

// Who asked for each workflow (the HTTP token's name, PLANEXEC_REQUESTER, or the MCP client's
// declared name; src/mcp/requester.ts), so workflow_status can list and total one requester's
// workflows: the ledger of a server a team shares. Null for workflows made before it was recorded.
import type { Kysely } from 'kysely';

export function workflowRequester() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('workflows').addColumn('requester', 'text').execute();
      await db.schema.createIndex('workflows_by_requester').ifNotExists().on('workflows').columns(['requester', 'updated_at']).execute();
    },
  };
}

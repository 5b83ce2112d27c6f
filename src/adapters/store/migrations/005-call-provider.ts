// The provider kind of each model call (PLANEXEC_<ROLE>_PROVIDER: responses, chat, codex), so the
// journal and workflow_status say where every call went, and the cost rules can tell a call billed
// per token from one billed to a subscription (src/core/cost.ts). Calls journaled before it was
// recorded were all made by the Responses provider (the only one the composition root built then).
import type { Kysely } from 'kysely';

export function callProvider() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('model_calls').addColumn('provider', 'text', (c) => c.notNull().defaultTo('responses')).execute();
    },
  };
}

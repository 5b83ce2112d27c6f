import type { Kysely } from 'kysely';

/**
 * Migration 005-call-provider: adds model_calls.provider (TEXT NOT NULL DEFAULT 'responses'). Why:
 *
 * The provider kind of each model call (PLANEXEC_<ROLE>_PROVIDER: responses, chat, codex), so the
 * journal and workflow_status say where every call went, and the cost rules can tell a call billed
 * per token from one billed to a subscription (src/core/cost.ts). Calls journaled before it was
 * recorded were all made by the Responses provider (the only one the composition root built then).
 *
 * Returns a Kysely Migration ({ up }), the same SQL for both dialects; `up` rejects with the
 * database's error when the statement fails (StorageError when the storage itself fails: busy, full,
 * connection lost).
 */
export function callProvider() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('model_calls').addColumn('provider', 'text', (c) => c.notNull().defaultTo('responses')).execute();
    },
  };
}

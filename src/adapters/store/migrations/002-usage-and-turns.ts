import type { Kysely } from 'kysely';
import type { Dialect } from '../schema.js';
import { columnTypes, createTable } from './types.js';

/**
 * Migration 002-usage-and-turns: adds model_calls.usage_estimated (0/1, default 0) and request_bytes
 * (int64, nullable), workflows.planner_thread (default 0), and the planner_turns table with its index
 * by (workflow_id, thread, id). Why:
 *
 * Every billed token counted, and the planner's thread kept by planexec itself:
 * - model_calls.usage_estimated: 1 when the usage was not reported by the provider but estimated
 *   (o200k of what was sent; for a call its process never finished, from request_bytes);
 * - model_calls.request_bytes: UTF-8 bytes sent (instructions, schema, thread, input);
 * - planner_turns: each completed planner exchange (input, answer) of a thread, so any provider can
 *   be sent the thread again (one without server-side threads, or one that lost it);
 * - workflows.planner_thread: which thread is current (a compaction starts the next one).
 *
 * Returns a Kysely Migration ({ up }) for `dialect`; `up` rejects with the database's error when a
 * statement fails (StorageError when the storage itself fails: busy, full, connection lost).
 */
export function usageAndTurns(dialect: Dialect) {
  const t = columnTypes(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('model_calls').addColumn('usage_estimated', t.int, (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('model_calls').addColumn('request_bytes', t.int64).execute();
      await db.schema.alterTable('workflows').addColumn('planner_thread', t.int, (c) => c.notNull().defaultTo(0)).execute();
      await createTable(db, dialect, 'planner_turns', (b) =>
        t
          .serial(b, 'id')
          .addColumn('workflow_id', 'text', (c) => c.notNull().references('workflows.id'))
          .addColumn('thread', t.int, (c) => c.notNull())
          .addColumn('call_id', t.int64, (c) => c.notNull().references('model_calls.id'))
          .addColumn('input', 'text', (c) => c.notNull())
          .addColumn('output', 'text', (c) => c.notNull())
          .addColumn('created_at', t.int64, (c) => c.notNull()),
      );
      await db.schema.createIndex('planner_turns_by_thread').ifNotExists().on('planner_turns').columns(['workflow_id', 'thread', 'id']).execute();
    },
  };
}

import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../schema.js';
import { columnTypes, createTable } from './types.js';

/**
 * Migration 001-baseline: creates workflows, plans, subtasks, model_calls, reviews, executions,
 * owners, tasks and decisions, with their indexes and CHECK constraints (each row described in
 * src/adapters/store/schema.ts). Times and token counts are int64 columns (epoch ms, tokens).
 *
 * The schema as planexec 0.1 left it (its SQLite migrations 001-007), written once for SQLite and
 * PostgreSQL. Every statement is IF NOT EXISTS, so on a SQLite file that 0.1 created (brought to its
 * version 7 first, see legacy/index.ts) it changes nothing.
 *
 * Returns a Kysely Migration ({ up }) for `dialect`; `up` rejects with the database's error when a
 * statement fails (StorageError when the storage itself fails: busy, full, connection lost).
 */
export function baseline(dialect: Dialect) {
  const t = columnTypes(dialect);
  const oneOf = (column: string, values: readonly string[]) => sql.raw(`${column} IN (${values.map((v) => `'${v}'`).join(',')})`);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await createTable(db, dialect, 'workflows', (b) =>
        b
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('request', 'text', (c) => c.notNull())
          .addColumn('goal', 'text', (c) => c.notNull())
          .addColumn('context', 'text')
          .addColumn('phase', 'text', (c) => c.notNull().check(oneOf('phase', ['planning', 'executing', 'reviewing', 'completed', 'needs_human', 'failed', 'cancelled'])))
          .addColumn('plan_version', t.int, (c) => c.notNull())
          .addColumn('planner_response_id', 'text')
          .addColumn('coordination_notes', 'text', (c) => c.notNull())
          .addColumn('budget', 'text', (c) => c.notNull())
          .addColumn('created_at', t.int64, (c) => c.notNull())
          .addColumn('updated_at', t.int64, (c) => c.notNull())
          .addColumn('lock_owner', 'text')
          .addColumn('last_error', 'text')
          .addColumn('planner_summary', 'text')
          .addColumn('files', 'text', (c) => c.notNull().defaultTo('[]')),
      );
      await db.schema.createIndex('workflows_by_update').ifNotExists().on('workflows').columns(['updated_at desc']).execute();

      await createTable(db, dialect, 'plans', (b) =>
        b
          .addColumn('workflow_id', 'text', (c) => c.notNull().references('workflows.id'))
          .addColumn('version', t.int, (c) => c.notNull())
          .addColumn('plan', 'text', (c) => c.notNull())
          .addColumn('response_id', 'text')
          .addColumn('created_at', t.int64, (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(oneOf('status', ['active', 'superseded', 'proposed', 'discarded'])))
          .addColumn('feedback', 'text')
          .addColumn('changes', 'text')
          .addPrimaryKeyConstraint('plans_pkey', ['workflow_id', 'version']),
      );

      await createTable(db, dialect, 'subtasks', (b) =>
        b
          .addColumn('workflow_id', 'text', (c) => c.notNull().references('workflows.id'))
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('position', t.int, (c) => c.notNull())
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('depends_on', 'text', (c) => c.notNull())
          .addColumn('complexity', 'text', (c) => c.notNull().check(oneOf('complexity', ['routine', 'complex'])))
          .addColumn('output_format', 'text', (c) => c.notNull())
          .addColumn('relevant_files', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull().check(oneOf('status', ['pending', 'running', 'completed', 'approved', 'failed', 'needs_human'])))
          .addColumn('attempts', t.int, (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull().check(oneOf('role', ['planner', 'executor'])))
          .addColumn('model', 'text')
          .addColumn('feedback', 'text')
          .addColumn('output', 'text')
          .addColumn('lease_owner', 'text')
          .addColumn('updated_at', t.int64, (c) => c.notNull())
          .addColumn('claimed_from', 'text')
          .addColumn('removed_in', t.int)
          .addPrimaryKeyConstraint('subtasks_pkey', ['workflow_id', 'id']),
      );

      // No foreign key to workflows: planning calls are journaled before their workflow exists, and
      // a plan that never becomes valid leaves only these rows (the calls were still billed).
      await createTable(db, dialect, 'model_calls', (b) =>
        t
          .serial(b, 'id')
          .addColumn('workflow_id', 'text', (c) => c.notNull())
          .addColumn('subtask_id', 'text')
          .addColumn('role', 'text', (c) => c.notNull().check(oneOf('role', ['planner', 'executor'])))
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull().check(oneOf('status', ['pending', 'completed', 'failed', 'abandoned'])))
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('response_id', 'text')
          .addColumn('input_tokens', t.int64)
          .addColumn('cached_tokens', t.int64)
          .addColumn('output_tokens', t.int64)
          .addColumn('error', 'text')
          .addColumn('started_at', t.int64, (c) => c.notNull())
          .addColumn('ended_at', t.int64)
          .addColumn('reserved_tokens', t.int64),
      );
      await db.schema.createIndex('model_calls_by_workflow').ifNotExists().on('model_calls').columns(['workflow_id', 'id']).execute();

      await createTable(db, dialect, 'reviews', (b) =>
        t
          .serial(b, 'id')
          .addColumn('workflow_id', 'text', (c) => c.notNull().references('workflows.id'))
          .addColumn('subtask_id', 'text', (c) => c.notNull())
          .addColumn('call_id', t.int64, (c) => c.notNull().references('model_calls.id'))
          .addColumn('plan_version', t.int, (c) => c.notNull())
          .addColumn('verdict', 'text', (c) => c.notNull().check(oneOf('verdict', ['approve', 'revise', 'escalate'])))
          .addColumn('feedback', 'text', (c) => c.notNull())
          .addColumn('created_at', t.int64, (c) => c.notNull()),
      );
      await db.schema.createIndex('reviews_by_subtask').ifNotExists().on('reviews').columns(['workflow_id', 'subtask_id', 'id']).execute();

      await createTable(db, dialect, 'executions', (b) =>
        t
          .serial(b, 'id')
          .addColumn('workflow_id', 'text', (c) => c.notNull().references('workflows.id'))
          .addColumn('subtask_id', 'text', (c) => c.notNull())
          .addColumn('attempt', t.int, (c) => c.notNull())
          .addColumn('call_id', t.int64, (c) => c.notNull().references('model_calls.id'))
          .addColumn('role', 'text', (c) => c.notNull().check(oneOf('role', ['planner', 'executor'])))
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('output', 'text', (c) => c.notNull())
          .addColumn('context', 'text', (c) => c.notNull())
          .addColumn('created_at', t.int64, (c) => c.notNull()),
      );
      await db.schema.createIndex('executions_by_subtask').ifNotExists().on('executions').columns(['workflow_id', 'subtask_id', 'id']).execute();

      await createTable(db, dialect, 'owners', (b) =>
        b
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('host', 'text', (c) => c.notNull())
          .addColumn('pid', t.int, (c) => c.notNull())
          .addColumn('started_at', t.int64, (c) => c.notNull())
          .addColumn('heartbeat_at', t.int64, (c) => c.notNull()),
      );

      await createTable(db, dialect, 'tasks', (b) =>
        b
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('workflow_id', 'text')
          .addColumn('owner', 'text')
          .addColumn('status', 'text', (c) => c.notNull().check(oneOf('status', ['working', 'input_required', 'completed', 'failed', 'cancelled'])))
          .addColumn('status_message', 'text')
          .addColumn('ttl', t.int64)
          .addColumn('poll_interval', t.int64, (c) => c.notNull())
          .addColumn('request', 'text', (c) => c.notNull())
          .addColumn('result', 'text')
          .addColumn('created_at', t.int64, (c) => c.notNull())
          .addColumn('updated_at', t.int64, (c) => c.notNull()),
      );
      await db.schema.createIndex('tasks_by_creation').ifNotExists().on('tasks').columns(['created_at', 'id']).execute();

      await createTable(db, dialect, 'decisions', (b) =>
        t
          .serial(b, 'id')
          .addColumn('workflow_id', 'text', (c) => c.notNull().references('workflows.id'))
          .addColumn('subtask_id', 'text', (c) => c.notNull())
          .addColumn('verdict', 'text', (c) => c.notNull().check(oneOf('verdict', ['approve', 'revise', 'cancel'])))
          .addColumn('feedback', 'text', (c) => c.notNull())
          .addColumn('via', 'text', (c) => c.notNull().check(oneOf('via', ['elicitation', 'host'])))
          .addColumn('created_at', t.int64, (c) => c.notNull()),
      );
      await db.schema.createIndex('decisions_by_subtask').ifNotExists().on('decisions').columns(['workflow_id', 'subtask_id', 'id']).execute();
    },
  };
}

/** The name of planexec 0.1's SQLite migration 3 (the file's user_version is 3 once it is applied); upgradeLegacy returns it when it applies it. */
export const name = '003-leases-and-tasks';

/**
 * The frozen DDL of planexec 0.1's store, migration 3, applied only by the legacy upgrade
 * (legacy/index.ts upgradeLegacy) to a SQLite file 0.1 left below version 3 (the Kysely
 * baseline starts from the schema these seven steps reach). Never edit it.
 *
 * Crash safety and several processes on one file: every process registers as an owner and
 * heartbeats; a subtask being executed, a workflow being coordinated and an MCP task all name
 * their owner. An owner whose heartbeat went stale is dead, and what it held is taken back.
 */
export const sql = `
CREATE TABLE owners (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
) STRICT;

-- Who coordinates the workflow's planner thread right now (run_workflow, review_results).
ALTER TABLE workflows ADD COLUMN lock_owner TEXT;
-- Why the workflow stopped, when it stopped on an error.
ALTER TABLE workflows ADD COLUMN last_error TEXT;
-- The status a running subtask returns to if its owner dies.
ALTER TABLE subtasks ADD COLUMN claimed_from TEXT;

CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  workflow_id TEXT,
  owner TEXT,
  status TEXT NOT NULL CHECK (status IN ('working','input_required','completed','failed','cancelled')),
  status_message TEXT,
  ttl INTEGER,
  poll_interval INTEGER NOT NULL,
  request TEXT NOT NULL,
  result TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX tasks_by_creation ON tasks (created_at, id);
`;

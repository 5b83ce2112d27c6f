/** The name of planexec 0.1's SQLite migration 2 (the file's user_version is 2 once it is applied); upgradeLegacy returns it when it applies it. */
export const name = '002-executions';

/**
 * The frozen DDL of planexec 0.1's store, migration 2, applied only by the legacy upgrade
 * (legacy/index.ts upgradeLegacy) to a SQLite file 0.1 left below version 2 (the Kysely
 * baseline starts from the schema these seven steps reach). Never edit it.
 *
 * One row per finished execution of a subtask: its output and what the model was shown. The
 * subtask row keeps only the latest output; nothing earlier is lost when a subtask runs again.
 */
export const sql = `
CREATE TABLE executions (
  id INTEGER PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES workflows (id),
  subtask_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  call_id INTEGER NOT NULL REFERENCES model_calls (id),
  role TEXT NOT NULL CHECK (role IN ('planner','executor')),
  model TEXT NOT NULL,
  output TEXT NOT NULL,
  context TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX executions_by_subtask ON executions (workflow_id, subtask_id, id);
`;

export const name = '002-executions';

// One row per finished execution of a subtask: its output and what the model was shown. The
// subtask row keeps only the latest output; nothing earlier is lost when a subtask runs again.
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

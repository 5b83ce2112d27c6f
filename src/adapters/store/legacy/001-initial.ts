/** The name of planexec 0.1's SQLite migration 1 (the file's user_version is 1 once it is applied); upgradeLegacy returns it when it applies it. */
export const name = '001-initial';

/**
 * The frozen DDL of planexec 0.1's store, migration 1 (its first schema: workflows, plans, subtasks,
 * model_calls, reviews), applied only by the legacy upgrade (legacy/index.ts upgradeLegacy). In
 * practice never run: a 0.1 file is at version 1 or more, so it already has these tables, and a new
 * file gets the Kysely baseline instead; kept so the legacy list holds 0.1's seven steps in order.
 * Never edit it.
 */
export const sql = `
CREATE TABLE workflows (
  id TEXT PRIMARY KEY,
  request TEXT NOT NULL,
  goal TEXT NOT NULL,
  context TEXT,
  phase TEXT NOT NULL CHECK (phase IN ('planning','executing','reviewing','completed','needs_human','failed','cancelled')),
  plan_version INTEGER NOT NULL,
  planner_response_id TEXT,
  coordination_notes TEXT NOT NULL,
  budget TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX workflows_by_update ON workflows (updated_at DESC);

CREATE TABLE plans (
  workflow_id TEXT NOT NULL REFERENCES workflows (id),
  version INTEGER NOT NULL,
  plan TEXT NOT NULL,
  response_id TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, version)
) STRICT;

CREATE TABLE subtasks (
  workflow_id TEXT NOT NULL REFERENCES workflows (id),
  id TEXT NOT NULL,
  position INTEGER NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  depends_on TEXT NOT NULL,
  complexity TEXT NOT NULL CHECK (complexity IN ('routine','complex')),
  output_format TEXT NOT NULL,
  relevant_files TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','running','completed','approved','failed','needs_human')),
  attempts INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('planner','executor')),
  model TEXT,
  feedback TEXT,
  output TEXT,
  lease_owner TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, id)
) STRICT;

-- No foreign key to workflows: planning calls are journaled before their workflow exists, and a
-- plan that never becomes valid leaves only these rows (the calls were still billed).
CREATE TABLE model_calls (
  id INTEGER PRIMARY KEY,
  workflow_id TEXT NOT NULL,
  subtask_id TEXT,
  role TEXT NOT NULL CHECK (role IN ('planner','executor')),
  purpose TEXT NOT NULL,
  model TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','completed','failed','abandoned')),
  owner TEXT NOT NULL,
  response_id TEXT,
  input_tokens INTEGER,
  cached_tokens INTEGER,
  output_tokens INTEGER,
  error TEXT,
  started_at INTEGER NOT NULL,
  ended_at INTEGER
) STRICT;
CREATE INDEX model_calls_by_workflow ON model_calls (workflow_id, id);

CREATE TABLE reviews (
  id INTEGER PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES workflows (id),
  subtask_id TEXT NOT NULL,
  call_id INTEGER NOT NULL REFERENCES model_calls (id),
  plan_version INTEGER NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('approve','revise','escalate')),
  feedback TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX reviews_by_subtask ON reviews (workflow_id, subtask_id, id);
`;

/** The name of planexec 0.1's SQLite migration 4 (the file's user_version is 4 once it is applied); upgradeLegacy returns it when it applies it. */
export const name = '004-decisions';

/**
 * The frozen DDL of planexec 0.1's store, migration 4, applied only by the legacy upgrade
 * (legacy/index.ts upgradeLegacy) to a SQLite file 0.1 left below version 4 (the Kysely
 * baseline starts from the schema these seven steps reach). Never edit it.
 *
 * Decisions a human made on subtasks (through an MCP elicitation form, or the host passing them to
 * review_results): kept beside the planner's reviews, never in place of them.
 */
export const sql = `
CREATE TABLE decisions (
  id INTEGER PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES workflows (id),
  subtask_id TEXT NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('approve','revise','cancel')),
  feedback TEXT NOT NULL,
  via TEXT NOT NULL CHECK (via IN ('elicitation','host')),
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX decisions_by_subtask ON decisions (workflow_id, subtask_id, id);
`;

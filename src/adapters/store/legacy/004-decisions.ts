export const name = '004-decisions';

// Decisions a human made on subtasks (through an MCP elicitation form, or the host passing them to
// review_results): kept beside the planner's reviews, never in place of them.
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

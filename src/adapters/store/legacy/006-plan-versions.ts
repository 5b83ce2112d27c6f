export const name = '006-plan-versions';

// Versioned plans: every plan the planner wrote stays, with its status, the feedback it answered
// and what it changed. A subtask a newer plan drops is marked, never deleted.
export const sql = `
ALTER TABLE plans ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','superseded','proposed','discarded'));
ALTER TABLE plans ADD COLUMN feedback TEXT;
ALTER TABLE plans ADD COLUMN changes TEXT;
ALTER TABLE subtasks ADD COLUMN removed_in INTEGER;
`;

export const name = '005-planner-summary';

// After a compaction the planner's thread starts again from this summary.
export const sql = `
ALTER TABLE workflows ADD COLUMN planner_summary TEXT;
`;

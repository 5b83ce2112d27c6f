export const name = '007-reservations-and-files';

// Budgets under concurrency: a call being sent reserves its estimated tokens until its real usage
// is known. And the files a workflow's request named, so a resumed planning reads them again.
export const sql = `
ALTER TABLE model_calls ADD COLUMN reserved_tokens INTEGER;
ALTER TABLE workflows ADD COLUMN files TEXT NOT NULL DEFAULT '[]';
`;

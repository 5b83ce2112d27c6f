/** The name of planexec 0.1's SQLite migration 7 (the file's user_version is 7 once it is applied); upgradeLegacy returns it when it applies it. */
export const name = '007-reservations-and-files';

/**
 * The frozen DDL of planexec 0.1's store, migration 7, applied only by the legacy upgrade
 * (legacy/index.ts upgradeLegacy) to a SQLite file 0.1 left below version 7 (the Kysely
 * baseline starts from the schema these seven steps reach). Never edit it.
 *
 * Budgets under concurrency: a call being sent reserves its estimated tokens until its real usage
 * is known. And the files a workflow's request named, so a resumed planning reads them again.
 */
export const sql = `
ALTER TABLE model_calls ADD COLUMN reserved_tokens INTEGER;
ALTER TABLE workflows ADD COLUMN files TEXT NOT NULL DEFAULT '[]';
`;

/** The name of planexec 0.1's SQLite migration 5 (the file's user_version is 5 once it is applied); upgradeLegacy returns it when it applies it. */
export const name = '005-planner-summary';

/**
 * The frozen DDL of planexec 0.1's store, migration 5, applied only by the legacy upgrade
 * (legacy/index.ts upgradeLegacy) to a SQLite file 0.1 left below version 5 (the Kysely
 * baseline starts from the schema these seven steps reach). Never edit it.
 *
 * After a compaction the planner's thread starts again from this summary.
 */
export const sql = `
ALTER TABLE workflows ADD COLUMN planner_summary TEXT;
`;

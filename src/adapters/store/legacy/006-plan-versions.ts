/** The name of planexec 0.1's SQLite migration 6 (the file's user_version is 6 once it is applied); upgradeLegacy returns it when it applies it. */
export const name = '006-plan-versions';

/**
 * The frozen DDL of planexec 0.1's store, migration 6, applied only by the legacy upgrade
 * (legacy/index.ts upgradeLegacy) to a SQLite file 0.1 left below version 6 (the Kysely
 * baseline starts from the schema these seven steps reach). Never edit it.
 *
 * Versioned plans: every plan the planner wrote stays, with its status, the feedback it answered
 * and what it changed. A subtask a newer plan drops is marked, never deleted.
 */
export const sql = `
ALTER TABLE plans ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','superseded','proposed','discarded'));
ALTER TABLE plans ADD COLUMN feedback TEXT;
ALTER TABLE plans ADD COLUMN changes TEXT;
ALTER TABLE subtasks ADD COLUMN removed_in INTEGER;
`;

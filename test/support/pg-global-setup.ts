// vitest globalSetup: a PostgreSQL server for the tests of the PostgreSQL store. PLANEXEC_TEST_PG_URL
// names one to use (the tests make a schema each in it and drop it); otherwise a throw-away cluster
// is started here (test/support/pg-cluster.ts) and stopped at the end of the run. If none can be
// had, the reason is handed to the tests, and those that need PostgreSQL fail with it (never skip).
import type { TestProject } from 'vitest/node';
import { startPgCluster, type PgCluster } from './pg-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The server's URL (a superuser or a user that may create schemas), or null when none could be had. */
    pgUrl: string | null;
    /** Why there is no server (null when there is one). */
    pgError: string | null;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const given = process.env.PLANEXEC_TEST_PG_URL?.trim();
  if (given) {
    project.provide('pgUrl', given);
    project.provide('pgError', null);
    return;
  }
  let cluster: PgCluster;
  try {
    cluster = await startPgCluster();
  } catch (error) {
    project.provide('pgUrl', null);
    project.provide('pgError', (error as Error).message);
    return;
  }
  project.provide('pgUrl', cluster.url);
  project.provide('pgError', null);
  return () => cluster.stop();
}

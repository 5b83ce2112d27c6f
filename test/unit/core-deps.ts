// CoreDeps for unit tests, built by hand as src/main.ts compose() does, over a real SQLite store in
// memory, a scripted model provider, an in-memory workspace and a stepping clock.
import type { KyselyStore } from '../../src/adapters/store/kysely-store.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { DEFAULT_PRICES } from '../../src/core/cost.js';
import type { CoreDeps, CoreSettings } from '../../src/core/deps.js';
import { Runtime } from '../../src/core/runtime.js';
import { MapWorkspaceReader, MapWorkspaceWriter, ScriptedModelProvider, SequentialIds, SteppingClock, WordTokenCounter } from '../support/fakes.js';

export const SETTINGS: CoreSettings = {
  root: '/workspace',
  models: { planner: 'gpt-5.4', executor: 'gpt-5.4-mini' },
  providers: { planner: 'responses', executor: 'responses' },
  prices: DEFAULT_PRICES,
  extendedCacheModels: ['gpt-5.4'],
  context: { maxFileBytes: 64 * 1024, maxContextBytes: 256 * 1024, maxDependencyChars: 32_000 },
  maxOutputTokens: { planner: undefined, executor: undefined },
  reviewOutputChars: 24_000,
  resultBytes: 6_000,
  concurrency: 4,
  ladder: ['executor', 'executor', 'planner'],
  defaultBudget: {},
  compaction: { contextLimit: undefined, at: 0.8 },
  cachePriming: true,
  changes: { mode: 'off', hostChecks: [], allowedChecks: [], checkTimeoutMs: 60_000, worktreesDir: '/tmp/planexec-worktrees', setup: null, trustRequestChecks: true },
};

export interface TestDeps extends CoreDeps {
  store: KyselyStore;
  models: { planner: ScriptedModelProvider; executor: ScriptedModelProvider };
  /** The one scripted provider serving both roles. */
  scripted: ScriptedModelProvider;
  files: MapWorkspaceReader;
  close(): Promise<void>;
}

export async function makeDeps(
  opts: { models?: ScriptedModelProvider; files?: Record<string, string>; settings?: Partial<CoreSettings>; redact?: (text: string) => string } = {},
): Promise<TestDeps> {
  const { store, close } = await openSqliteStore(':memory:');
  const clock = new SteppingClock(1_000);
  // Not started: no heartbeat timer in unit tests; the owner row is written so liveness checks work.
  const runtime = new Runtime({ store, clock, probe: { isRunning: () => null }, owner: { id: 'test-owner', host: 'test', pid: 1 }, leaseMs: 60_000 });
  await store.owners.upsert({ id: 'test-owner', host: 'test', pid: 1, startedAt: 0, heartbeatAt: Number.MAX_SAFE_INTEGER });
  const scripted = opts.models ?? new ScriptedModelProvider();
  return {
    store,
    models: { planner: scripted, executor: scripted },
    scripted,
    files: new MapWorkspaceReader(opts.files),
    writer: new MapWorkspaceWriter(),
    git: null,
    tokens: new WordTokenCounter(),
    clock,
    ids: new SequentialIds(),
    owner: 'test-owner',
    runtime,
    settings: { ...SETTINGS, ...opts.settings },
    redact: opts.redact ?? ((text) => text),
    close,
  };
}

// Two planexec processes on one database, played in one test with two stores and runtimes over the
// same database (a SQLite file; a PostgreSQL schema, each store with its own pool of connections)
// and a clock the test moves: a process that stalls past its lease is taken for dead, and what it
// held goes to the other; when it wakes up, it must not undo that.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../../src/adapters/store/kysely-store.js';
import { openPostgresStore } from '../../src/adapters/store/postgres.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import type { CoreDeps } from '../../src/core/deps.js';
import type { ModelProvider, ModelRequest, ModelResponse } from '../../src/core/ports.js';
import { Runtime } from '../../src/core/runtime.js';
import { executeSubtask } from '../../src/core/usecases/execute-subtask.js';
import { planTask } from '../../src/core/usecases/plan-task.js';
import { tryLockWorkflow } from '../../src/core/workflow.js';
import { MapWorkspaceReader, MapWorkspaceWriter, SequentialIds, WordTokenCounter } from '../support/fakes.js';
import { planned } from '../unit/builders.js';
import { SETTINGS } from '../unit/core-deps.js';
import { freshPgUrl } from '../support/postgres.js';

const LEASE = 15_000;
const PLAN = JSON.stringify({ subtasks: [planned('s1'), planned('s2', ['s1'])], coordination_notes: '' });

/** Answers plans at once; an executor call waits for `gate` and fails if its signal aborts first. */
class GatedModels implements ModelProvider {
  readonly capabilities = { serverThreads: true, promptCacheControls: true, structuredOutput: true, applyPatchTool: false };
  private n = 0;
  constructor(
    private readonly name: string,
    private readonly gate: Promise<void> = Promise.resolve(),
  ) {}
  async generate(req: ModelRequest): Promise<ModelResponse> {
    if (!req.format) {
      await new Promise<void>((resolve, reject) => {
        if (req.signal?.aborted) return reject(new Error('aborted'));
        req.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        void this.gate.then(resolve);
      });
    }
    const text = req.format ? PLAN : `OUTPUT-${this.name}`;
    return { responseId: `${this.name}-r${++this.n}`, text, usage: { input_tokens: 100, cached_tokens: 0, output_tokens: 10 } };
  }
}

let dir: string;
const clock = { t: 1_000_000, now() { return this.t; } };
const stores: Array<{ store: KyselyStore; close(): Promise<void> }> = [];
/** The PostgreSQL schema of the running test, made when its first store opens. */
let pgUrl: string | null = null;

const backends: Array<{ name: string; open: () => Promise<{ store: KyselyStore; close(): Promise<void> }> }> = [
  { name: 'SQLite', open: () => openSqliteStore(join(dir, 'state.db')) },
  { name: 'PostgreSQL', open: async () => openPostgresStore((pgUrl ??= await freshPgUrl())) },
];
let backend = backends[0]!;

async function process(name: string, models: ModelProvider): Promise<CoreDeps> {
  const opened = await backend.open();
  stores.push(opened);
  const store = opened.store;
  const runtime = new Runtime({ store, clock, probe: { isRunning: () => null }, owner: { id: name, host: 'host', pid: 1 }, leaseMs: LEASE });
  await store.owners.upsert({ id: name, host: 'host', pid: 1, startedAt: clock.t, heartbeatAt: clock.t });
  return { store, models: { planner: models, executor: models }, files: new MapWorkspaceReader({}), writer: new MapWorkspaceWriter(), git: null, tokens: new WordTokenCounter(), clock, ids: new SequentialIds(`wf-${name}-`), owner: name, runtime, settings: SETTINGS, redact: (text) => text };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-takeover-'));
  pgUrl = null;
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const waitFor = async (condition: () => Promise<boolean>) => {
  for (let i = 0; i < 500 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 2));
};

describe.each(backends)('on $name, a process taken for dead while it still works', (b) => {
  beforeEach(() => {
    backend = b;
  });

  it('loses its subtask to the other process; its late answer goes to the history only, and the subtask ends with one current result', async () => {
    let release!: () => void;
    const a = await process('A', new GatedModels('A', new Promise<void>((r) => (release = r))));
    const b = await process('B', new GatedModels('B'));
    const { workflow_id } = await planTask(a, { request: 'Build it' });
    const late = executeSubtask(a, { workflow_id, subtask_id: 's1' });
    await waitFor(async () => (await a.store.workflows.listSubtasks(workflow_id))[0]!.status === 'running');

    // A stalls past its lease; B's heartbeat takes it for dead and takes back the claim.
    clock.t += LEASE + 5_000;
    await b.runtime.tick();
    expect((await b.store.owners.get('A'))).toBeNull();
    expect((await b.store.workflows.listSubtasks(workflow_id))[0]).toMatchObject({ status: 'pending', leaseOwner: null });
    const done = await executeSubtask(b, { workflow_id, subtask_id: 's1' });
    expect(done.output).toBe('OUTPUT-B');

    release();
    await expect(late).rejects.toThrow(/taken over by another process/);
    const s1 = (await b.store.workflows.listSubtasks(workflow_id))[0]!;
    expect(s1).toMatchObject({ status: 'completed', output: 'OUTPUT-B', leaseOwner: null });
    expect((await b.store.workflows.listExecutions(workflow_id, 's1')).map((e) => e.output)).toEqual(['OUTPUT-B', 'OUTPUT-A']);
    // Reaping marked A's call abandoned; its answer then arrived, so its real usage is recorded (it was billed).
    expect((await b.store.calls.list(workflow_id)).filter((c) => c.subtaskId === 's1').map((c) => `${c.owner}:${c.status}`)).toEqual(['A:completed', 'B:completed']);
  });

  it('on its next heartbeat registers again and aborts what it runs, leaving the other process\'s state alone', async () => {
    const a = await process('A', new GatedModels('A', new Promise<void>(() => undefined)));
    const b = await process('B', new GatedModels('B'));
    const { workflow_id } = await planTask(a, { request: 'Build it' });
    const stalled = executeSubtask(a, { workflow_id, subtask_id: 's1' });
    await waitFor(async () => (await a.store.workflows.listSubtasks(workflow_id))[0]!.status === 'running');
    clock.t += LEASE + 5_000;
    await b.runtime.tick();
    expect(await tryLockWorkflow(b, workflow_id, 'B/1')).toBe(true);
    await executeSubtask(b, { workflow_id, subtask_id: 's1' });

    // The expectation holds `stalled` before the tick aborts it (a rejection with no handler yet is unhandled).
    const aborted = expect(stalled).rejects.toThrow(/aborted/);
    await a.runtime.tick();
    await aborted;
    expect((await a.store.owners.get('A'))).not.toBeNull();
    expect(await b.runtime.isAlive('A')).toBe(true);
    expect((await a.store.workflows.listSubtasks(workflow_id))[0]).toMatchObject({ status: 'completed', output: 'OUTPUT-B' });
    // The lock B took stays B's: A is alive again but cannot take it while B is.
    expect(await tryLockWorkflow(a, workflow_id, 'A/1')).toBe(false);
  });
});

// Issue 7, C: a stalled process that wakes up after it was taken for dead leaves the new owner's
// state alone; a write lock held by another process neither kills the server nor freezes it; a run
// that died leaves a status that says so and how to resume. With the built binary, real processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIStandin, type OpenAIStandin } from '../support/openai-standin.js';
import { plan, subtaskOf, until, workflowResponder } from '../support/responders.js';
import { spawnServer, withTimeout, type RawServer } from '../support/spawn.js';

let standin: OpenAIStandin;
let dir: string;
const servers: RawServer[] = [];
const TWO = plan([{ id: 's1' }, { id: 's2' }]);

beforeAll(async () => {
  standin = await startOpenAIStandin();
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-processes-'));
  standin.reset();
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGCONT');
      s.child.kill('SIGKILL');
      await s.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}): Promise<RawServer> {
  const server = spawnServer({
    PATH: process.env.PATH ?? '',
    HOME: dir,
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: standin.baseURL,
    PLANEXEC_DB: join(dir, 'state.db'),
    PLANEXEC_ROOT: dir,
    PLANEXEC_LOG_LEVEL: 'warn',
    ...env,
  });
  servers.push(server);
  await server.initialize();
  return server;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const status = async (s: RawServer, workflow_id: string) => (await s.call('workflow_status', { workflow_id })).structuredContent;

describe('a process taken for dead while it was stopped', () => {
  it('does not cancel, fail or otherwise write over the workflow when it wakes up; the other process finishes it', async () => {
    let hang = true;
    standin.setResponder(workflowResponder(TWO, { executor: () => (hang ? { hang: true } : undefined) }));
    const a = await start({ PLANEXEC_LEASE_MS: '1500' });
    const b = await start({ PLANEXEC_LEASE_MS: '1500' });
    const started = (await a.call('run_workflow', { request: 'Build it', wait: false })).structuredContent;
    const workflow_id = started.workflow_id as string;
    await until(async () => standin.requests.filter((r) => subtaskOf(r) && r.endedAt === null).length === 2, 'both executor calls in flight');

    // A laptop asleep: A stops past its lease; B takes its work back.
    a.child.kill('SIGSTOP');
    await until(async () => (await status(b, workflow_id)).subtasks.every((s: any) => s.status === 'pending'), 'B takes the running subtasks back', 15_000);
    hang = false;
    a.child.kill('SIGCONT');
    // A's next heartbeat finds it was taken for dead: it gives up its run quietly.
    await until(async () => standin.requests.filter((r) => subtaskOf(r)).every((r) => r.endedAt !== null), 'A lets go of its calls', 15_000);
    await sleep(600);
    const after = await status(b, workflow_id);
    expect(after.phase).not.toBe('cancelled');
    expect(after.phase).not.toBe('failed');
    expect(after.last_error).toBeNull();

    const done = (await withTimeout(b.call('run_workflow', { workflow_id }), 20_000, 'B finishes the workflow')).structuredContent;
    expect(done.phase).toBe('completed');
    expect(a.child.exitCode).toBeNull();
  });
});

describe('a process taken for dead while only read by another', () => {
  it("finishes the run its own client waits for: the call answers the completed workflow, not the state it had when it woke", async () => {
    let hang = true;
    standin.setResponder(workflowResponder(TWO, { executor: () => (hang ? { hang: true } : undefined) }));
    const a = await start({ PLANEXEC_LEASE_MS: '1500' });
    const b = await start({ PLANEXEC_LEASE_MS: '1500' });
    // A plain call: A's client waits for its answer (the SDK polls the call's task inside A).
    const call = a.call('run_workflow', { request: 'Build it' });
    await until(async () => standin.requests.filter((r) => subtaskOf(r) && r.endedAt === null).length === 2, 'both executor calls in flight');
    const workflow_id = (await b.call('workflow_status', {})).structuredContent.workflows[0].workflow_id as string;

    // A stops past its lease; B only reads the status, which takes A's work back (nobody else runs it).
    a.child.kill('SIGSTOP');
    await until(async () => (await status(b, workflow_id)).subtasks.every((s: any) => s.status === 'pending'), 'B takes the running subtasks back', 15_000);
    hang = false;
    a.child.kill('SIGCONT');

    const answer = await withTimeout(call, 30_000, "A's run_workflow");
    expect(answer.isError, JSON.stringify(answer.content)).toBeFalsy();
    expect(answer.structuredContent.phase).toBe('completed');
    expect((await status(b, workflow_id)).phase).toBe('completed');
  }, 60_000);
});

describe('a write lock held by another process', () => {
  it('neither kills the server nor stops it answering; writes go through once the lock is free', async () => {
    standin.setResponder(workflowResponder(TWO));
    const server = await start({ PLANEXEC_LEASE_MS: '300' });
    const holder = new Database(join(dir, 'state.db'));
    holder.pragma('busy_timeout = 5000');
    holder.prepare('BEGIN IMMEDIATE').run();
    try {
      // Heartbeats (three per lease) cannot write for a good while: the process stays up and answers.
      await sleep(2_500);
      const list = await withTimeout(server.request('tools/list'), 2_000, 'tools/list while the lock is held');
      expect(list.result.tools.length).toBeGreaterThan(0);
      const recent = await withTimeout(server.call('workflow_status', {}), 2_000, 'a read while the lock is held');
      expect(recent.isError).toBeFalsy();
      // A write waits for the lock (asynchronously) instead of failing or freezing the process.
      const planning = server.call('plan_task', { request: 'Build it' });
      await sleep(300);
      expect(server.child.exitCode).toBeNull();
      holder.prepare('COMMIT').run();
      const planned = await withTimeout(planning, 10_000, 'plan_task once the lock is free');
      expect(planned.isError).toBeFalsy();
    } finally {
      if (holder.inTransaction) holder.prepare('ROLLBACK').run();
      holder.close();
    }
    expect(server.child.exitCode).toBeNull();
    expect(server.stderr()).not.toMatch(/uncaught|unhandled/i);
  });
});

describe('a run that died', () => {
  it('leaves a status that says nobody is running it and points at the call that resumes it', async () => {
    standin.setResponder(workflowResponder(TWO, { plannerDelayMs: 60_000 }));
    const a = await start({ PLANEXEC_LEASE_MS: '1000' });
    const started = (await a.call('run_workflow', { request: 'Build it', wait: false })).structuredContent;
    const workflow_id = started.workflow_id as string;
    await until(async () => standin.requests.some((r) => r.schemaName === 'plan'), 'the plan call in flight');
    const during = await status(a, workflow_id);
    expect(during).toMatchObject({ phase: 'planning', active: true });
    expect(during.next).toMatch(/A run \(run_workflow\) is driving this workflow now: follow it with workflow_status/);

    a.child.kill('SIGKILL');
    await a.exited;
    standin.setResponder(workflowResponder(TWO));
    const b = await start({ PLANEXEC_LEASE_MS: '1000' });
    const stale = await status(b, workflow_id);
    expect(stale.phase).toBe('planning');
    expect(stale.active).toBe(false);
    expect(stale.next).toMatch(/Nobody is planning this workflow now.*run_workflow \{"workflow_id":"wf-/);
    const done = (await withTimeout(b.call('run_workflow', { workflow_id }), 20_000, 'the resumed run')).structuredContent;
    expect(done.phase).toBe('completed');
  });
});

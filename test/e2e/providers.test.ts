// Issue 9 with the built binary: a role on the Codex CLI (the fake CLI, test/support/fake-codex.mjs)
// journals its calls as codex and prices them in quota units only; a Codex CLI still running when the
// server stops is killed with everything it started; provider settings that cannot work are named
// at start-up (an unknown kind stops it, a missing CLI or key is a warning for the roles it concerns).
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CODEX, fakeCodexHome, processGone, waitFor, type FakeCodexHome } from '../support/fake-codex-kit.js';
import { plan } from '../support/responders.js';
import { CLI, spawnServer, withTimeout, type RawServer } from '../support/spawn.js';

let fake: FakeCodexHome | null = null;
let server: RawServer | null = null;
let dir: string;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
});
afterEach(async () => {
  if (server && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  server = null;
  fake?.cleanup();
  fake = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function start(env: Record<string, string>): RawServer {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'planexec-e2e-providers-')));
  server = spawnServer({ PATH: process.env.PATH ?? '', HOME: dir, PLANEXEC_DB: join(dir, 'state.db'), PLANEXEC_ROOT: dir, PLANEXEC_LOG_LEVEL: 'warn', PLANEXEC_LEASE_MS: '600000', ...env }, { cwd: dir });
  return server;
}

const ONE = plan([{ id: 's1' }]);
const CODEX_BOTH = { PLANEXEC_PLANNER_PROVIDER: 'codex', PLANEXEC_EXECUTOR_PROVIDER: 'codex', PLANEXEC_CODEX_BIN: FAKE_CODEX };

describe('both roles on the Codex CLI', () => {
  it('plans, executes and reviews through the CLI, journals every call as codex, and counts quota units without USD', async () => {
    fake = fakeCodexHome([
      { json: ONE, usage: { input_tokens: 2000, cached_input_tokens: 0, output_tokens: 100 } },
      { text: 'OUTPUT-OF-s1', usage: { input_tokens: 900, cached_input_tokens: 0, output_tokens: 30 } },
      { json: { verdict: 'approve', reviews: [{ subtask_id: 's1', verdict: 'approve', feedback: '' }], summary: 'Done.' }, usage: { input_tokens: 2500, cached_input_tokens: 2000, output_tokens: 40 } },
    ]);
    const s = start({ ...fake.env, ...CODEX_BOTH });
    await s.initialize();
    const planned = (await s.call('plan_task', { request: 'Add a login page' })).structuredContent;
    const executed = (await s.call('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's1' })).structuredContent;
    expect(executed.output).toBe('OUTPUT-OF-s1');
    await s.call('review_results', { workflow_id: planned.workflow_id });
    const status = (await s.call('workflow_status', { workflow_id: planned.workflow_id })).structuredContent;

    expect(fake.runs().filter((r) => r.kind === 'exec')).toHaveLength(3);
    expect(status.calls_by_model).toEqual([
      { role: 'planner', provider: 'codex', model: 'gpt-5.4', calls: 2, input_tokens: 4500, cached_tokens: 2000, output_tokens: 140 },
      { role: 'executor', provider: 'codex', model: 'gpt-5.4-mini', calls: 1, input_tokens: 900, cached_tokens: 0, output_tokens: 30 },
    ]);
    // A subscription: quota units against the planner on the same provider, no dollars on either side.
    expect(status.cost).toEqual({
      quota_units: 2.3,
      baseline_quota_units: 3,
      savings_pct: 23.3,
      usd: null,
      baseline_usd: null,
      usd_savings_pct: null,
      unpriced_models: [],
      subscription_calls: 3,
    });
  });

  it('kills a Codex CLI still running, and what it started, when the server stops', async () => {
    fake = fakeCodexHome([{ json: ONE }], { hang: true });
    const s = start({ ...fake.env, ...CODEX_BOTH });
    await s.initialize();
    const planned = (await s.call('plan_task', { request: 'Add a login page' })).structuredContent;
    void s.call('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's1' });
    const hung = await waitFor(() => fake!.runs().find((r) => r.kind === 'exec' && r.grandchild_pid !== undefined));
    expect(processGone(hung.pid)).toBe(false);
    expect(processGone(hung.grandchild_pid!)).toBe(false);

    s.child.stdin.end();
    await withTimeout(s.exited, 10_000, 'exit after stdin closed');
    await waitFor(() => (processGone(hung.pid) && processGone(hung.grandchild_pid!) ? true : undefined));
    expect(s.stderr()).not.toMatch(/unhandled/i);
  });
});

describe('after a crash', () => {
  it('a server started after one was killed with -9 ends the Codex CLI it left running, and what that started', async () => {
    fake = fakeCodexHome([{ json: ONE }], { hang: true });
    const first = start({ ...fake.env, ...CODEX_BOTH });
    await first.initialize();
    const planned = (await first.call('plan_task', { request: 'Add a login page' })).structuredContent;
    void first.call('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's1' }).catch(() => undefined);
    const hung = await waitFor(() => fake!.runs().find((r) => r.kind === 'exec' && r.grandchild_pid !== undefined));
    first.child.kill('SIGKILL');
    await first.exited;
    expect(processGone(hung.pid)).toBe(false); // nothing ran to end it

    // A second server with a Codex role, on the same state folder.
    const second = spawnServer({ PATH: process.env.PATH ?? '', HOME: dir, PLANEXEC_DB: join(dir, 'state.db'), PLANEXEC_ROOT: dir, PLANEXEC_LOG_LEVEL: 'warn', PLANEXEC_LEASE_MS: '600000', ...fake.env, ...CODEX_BOTH }, { cwd: dir });
    server = second;
    await second.initialize();
    await waitFor(() => (processGone(hung.pid) && processGone(hung.grandchild_pid!) ? true : undefined));
  });
});

describe('provider settings at start-up', () => {
  it('exits 2 naming PLANEXEC_EXECUTOR_PROVIDER when its kind is unknown', async () => {
    const s = start({ PLANEXEC_EXECUTOR_PROVIDER: 'ollama' });
    expect(await withTimeout(s.exited, 10_000, 'exit at start-up')).toBe(2);
    expect(s.stderr()).toMatch(/PLANEXEC_EXECUTOR_PROVIDER: must be one of responses, chat, codex/);
    expect(s.lines).toEqual([]);
  });

  it('starts with the Codex CLI missing and no API key, warning only about the role that cannot work', async () => {
    // The executor on a local chat server needs no key; the planner's CLI is not installed.
    const s = start({ PLANEXEC_PLANNER_PROVIDER: 'codex', PLANEXEC_CODEX_BIN: '/nonexistent/codex', PLANEXEC_EXECUTOR_PROVIDER: 'chat', PLANEXEC_EXECUTOR_BASE_URL: 'http://127.0.0.1:9/v1' });
    await s.initialize();
    const tools = await s.request('tools/list');
    expect(tools.result.tools.length).toBeGreaterThan(0);
    const refused = await s.call('plan_task', { request: 'Add a login page' });
    expect(refused.isError).toBe(true);
    expect(refused.content[0].text).toMatch(/The Codex CLI was not found: '\/nonexistent\/codex'/);
    await waitFor(() => (s.stderr().includes('cannot make calls yet') ? true : undefined));
    expect(s.stderr()).toMatch(/the planner's provider \(codex\) cannot make calls yet.*The Codex CLI was not found/);
    expect(s.stderr()).not.toMatch(/OPENAI_API_KEY/);
    expect(s.stderr()).not.toMatch(/executor's provider/);
  });

  it('warns at start-up when a chat server on a public address gets no key, naming the setting; a local one gets no warning', async () => {
    const s = start({ PLANEXEC_EXECUTOR_PROVIDER: 'chat', PLANEXEC_EXECUTOR_BASE_URL: 'https://openrouter.example/api/v1', PLANEXEC_PLANNER_PROVIDER: 'chat', PLANEXEC_PLANNER_BASE_URL: 'http://127.0.0.1:9/v1' });
    await s.initialize();
    await waitFor(() => (s.stderr().includes('gets no key') ? true : undefined));
    expect(s.stderr()).toMatch(/the executor's chat server https:\/\/openrouter\.example\/api\/v1 gets no key: if it needs one, set PLANEXEC_EXECUTOR_API_KEY/);
    expect(s.stderr()).not.toMatch(/the planner's chat server/);
  });
});

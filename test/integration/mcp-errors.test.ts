// Bad input and failing models, through a real MCP Client: every failure is an isError result that
// says what to do, the database is left as it was (a failed model call leaves only its journal
// row), and the server keeps serving.
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOOLS } from '../../src/mcp/tools/index.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';

const PLAN = {
  subtasks: [
    { id: 's1', title: 'First', description: 'Do the first thing.', depends_on: [], complexity: 'routine', output_format: 'text', relevant_files: [] },
    { id: 's2', title: 'Second', description: 'Do the second thing.', depends_on: ['s1'], complexity: 'routine', output_format: 'text', relevant_files: [] },
  ],
  coordination_notes: '',
};

let h: Harness;
afterEach(async () => {
  await h.close();
});

async function planned(plan: object = PLAN): Promise<string> {
  h.standin.script({ json: plan });
  return (await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do two things.' })).workflow_id;
}

/** Calls a tool that must fail, and checks that it changed nothing in the database. */
async function rejects(name: string, args: Record<string, unknown>): Promise<string> {
  const before = h.snapshot();
  const requests = h.standin.requests.length;
  const watch = h.watchWrites();
  try {
    const result = await h.call(name, args);
    expect(result.isError, `${name} ${JSON.stringify(args).slice(0, 200)} should fail`).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    expect(h.snapshot()).toEqual(before);
    // Not even a write undone later (a lock taken and released): nothing committed at all.
    expect(watch.wrote(), `${name} ${JSON.stringify(args).slice(0, 200)} wrote to the database`).toBe(false);
    expect(h.standin.requests.length).toBe(requests);
    return textOf(result);
  } finally {
    watch.close();
  }
}

describe('bad input answers isError and changes nothing', () => {
  beforeEach(async () => {
    h = await startHarness({ env: { PLANEXEC_LEASE_MS: '600000' } });
  });

  it('plan_task rejects missing, empty, wrong-typed and oversized fields', async () => {
    expect(await rejects('plan_task', {})).toMatch(/request/);
    expect(await rejects('plan_task', { request: '   ' })).toMatch(/request must not be empty/);
    expect(await rejects('plan_task', { request: 42 })).toMatch(/request/);
    expect(await rejects('plan_task', { request: 'x'.repeat(100_001) })).toMatch(/100,000 characters/);
    expect(await rejects('plan_task', { request: 'ok', context: 'x'.repeat(200_001) })).toMatch(/context is over/);
    expect(await rejects('plan_task', { request: 'ok', files: Array.from({ length: 51 }, (_, i) => `f${i}`) })).toMatch(/more than 50/);
    expect(await rejects('plan_task', { request: 'ok', budget: { planner_tokens: -5 } })).toMatch(/planner_tokens/);
    expect(await rejects('plan_task', { request: 'ok', budget: { tokens: 5 } })).toMatch(/tokens/);
  });

  it('plan_task refuses files outside the workspace root, through .., absolute paths or symlinks', async () => {
    writeFileSync(join(h.dir, 'secret.txt'), 'top secret');
    symlinkSync(join(h.dir, 'secret.txt'), join(h.root, 'link.txt'));
    expect(await rejects('plan_task', { request: 'ok', files: ['../secret.txt'] })).toMatch(/path_outside_root|"\.\."/);
    expect(await rejects('plan_task', { request: 'ok', files: [join(h.dir, 'secret.txt')] })).toMatch(/absolute/);
    const viaLink = await rejects('plan_task', { request: 'ok', files: ['link.txt'] });
    expect(viaLink).toMatch(/path_outside_root/);
    expect(viaLink).toMatch(/symlink/);
    expect(viaLink).not.toContain('top secret');
    expect(await rejects('plan_task', { request: 'ok', files: ['nope.txt'] })).toMatch(/file_unreadable.*does not exist/);
  });

  it('execute_subtask rejects unknown ids, wrong types and subtasks whose dependencies are pending', async () => {
    const workflow_id = await planned();
    expect(await rejects('execute_subtask', {})).toMatch(/workflow_id/);
    expect(await rejects('execute_subtask', { workflow_id: 7 })).toMatch(/workflow_id/);
    expect(await rejects('execute_subtask', { workflow_id: 'wf-nope' })).toMatch(/not_found.*wf-nope.*workflow_status/s);
    expect(await rejects('execute_subtask', { workflow_id, subtask_id: 's9' })).toMatch(/s9.*Known subtask ids: s1, s2/s);
    expect(await rejects('execute_subtask', { workflow_id, subtask_id: 'x'.repeat(65) })).toMatch(/subtask_id is too long/);
    expect(await rejects('execute_subtask', { workflow_id, notes: 'x'.repeat(20_001) })).toMatch(/notes are over/);
    expect(await rejects('execute_subtask', { workflow_id, force: 'yes' })).toMatch(/force/);
    const deps = await rejects('execute_subtask', { workflow_id, subtask_id: 's2' });
    expect(deps).toMatch(/dependencies_incomplete/);
    expect(deps).toMatch(/'s1'/);
  });

  it('execute_subtask refuses a relevant file that is a symlink out of the root, before any model call', async () => {
    writeFileSync(join(h.dir, 'secret.txt'), 'top secret');
    symlinkSync(join(h.dir, 'secret.txt'), join(h.root, 'notes.txt'));
    const workflow_id = await planned({ ...PLAN, subtasks: [{ ...PLAN.subtasks[0], relevant_files: ['notes.txt'] }] });
    const text = await rejects('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(text).toMatch(/path_outside_root/);
  });

  it('review_results rejects unknown workflows, unknown or unfinished subtasks, and an empty batch', async () => {
    const workflow_id = await planned();
    expect(await rejects('review_results', {})).toMatch(/workflow_id/);
    expect(await rejects('review_results', { workflow_id: 'wf-nope' })).toMatch(/not_found/);
    expect(await rejects('review_results', { workflow_id })).toMatch(/nothing_to_do.*no completed/s);
    expect(await rejects('review_results', { workflow_id, subtask_ids: ['s7'] })).toMatch(/unknown subtask\(s\) s7/);
    expect(await rejects('review_results', { workflow_id, subtask_ids: ['s1'] })).toMatch(/'s1' is pending/);
    expect(await rejects('review_results', { workflow_id, subtask_ids: 's1' })).toMatch(/subtask_ids/);
  });

  it('workflow_status rejects unknown ids and a subtask without its workflow', async () => {
    const workflow_id = await planned();
    expect(await rejects('workflow_status', { workflow_id: 'wf-nope' })).toMatch(/not_found/);
    expect(await rejects('workflow_status', { subtask_id: 's1' })).toMatch(/needs a workflow_id/);
    expect(await rejects('workflow_status', { workflow_id, subtask_id: 'zz' })).toMatch(/not_found/);
    expect(await rejects('workflow_status', { workflow_id, offset: -1 })).toMatch(/offset/);
  });
});

describe('model failures', () => {
  it('without OPENAI_API_KEY the tools are listed, status works, and model tools name the variable', async () => {
    h = await startHarness({ env: { OPENAI_API_KEY: '' } });
    const { tools } = await h.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS.map((t) => t.name));
    expect((await h.call('workflow_status', {})).isError).toBeFalsy();
    const result = await h.call('plan_task', { request: 'Add auth.' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/OPENAI_API_KEY is not set/);
    expect(h.standin.requests).toHaveLength(0);
  });

  it.each([
    ['401', { status: 401, message: 'Incorrect API key provided: sk-test1234***abcd' }, /rejected the API key.*OPENAI_API_KEY/s],
    ['429', { status: 429, message: 'Rate limit reached', code: 'rate_limit_exceeded' }, /rate-limited.*Wait/s],
    ['500', { status: 500, message: 'boom' }, /HTTP 500.*Retry/s],
  ])('a %s from the provider becomes a clear error, leaves only a failed journal row, and the server keeps serving', async (_, error, pattern) => {
    h = await startHarness();
    const workflow_id = await planned();
    const before = h.snapshot();
    h.standin.script({ error, headers: { 'retry-after-ms': '0' } });
    const result = await h.call('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(pattern);
    expect(textOf(result)).not.toMatch(/sk-test1234/);
    const after = h.snapshot();
    expect(after.subtasks).toEqual(before.subtasks);
    expect(after.workflows).toEqual(before.workflows);
    const calls = after.model_calls as Array<{ status: string; error: string }>;
    expect(calls).toHaveLength((before.model_calls as unknown[]).length + 1);
    expect(calls.at(-1)!.status).toBe('failed');
    expect(calls.at(-1)!.error).not.toMatch(/sk-test1234/);

    h.standin.script({ text: 'fine now' });
    expect((await h.ok<{ output: string }>('execute_subtask', { workflow_id, subtask_id: 's1' })).output).toBe('fine now');
  });

  it('a model call that outlives PLANEXEC_MODEL_TIMEOUT_MS is reported as a timeout', async () => {
    h = await startHarness({ env: { PLANEXEC_MODEL_TIMEOUT_MS: '150' } });
    const workflow_id = await planned();
    h.standin.script({ text: 'late', delayMs: 2_000 });
    const result = await h.call('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/timed out.*PLANEXEC_MODEL_TIMEOUT_MS/s);
    expect((await h.ok<{ phase: string }>('workflow_status', { workflow_id })).phase).toBe('executing');
  });

  it('a cancelled request aborts the model call and puts the subtask back as it was', async () => {
    h = await startHarness();
    const workflow_id = await planned();
    const before = h.snapshot();
    h.standin.script({ hang: true });
    const controller = new AbortController();
    const pending = h.client.callTool({ name: 'execute_subtask', arguments: { workflow_id, subtask_id: 's1' } }, undefined, { signal: controller.signal });
    while (h.standin.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await expect(pending).rejects.toThrow();
    // The server settles the journal row once the SDK reports the abort.
    for (let i = 0; i < 200 && (h.snapshot().model_calls as Array<{ status: string }>).at(-1)!.status === 'pending'; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const after = h.snapshot();
    expect(after.subtasks).toEqual(before.subtasks);
    expect((after.model_calls as Array<{ status: string; error: string }>).at(-1)).toMatchObject({ status: 'failed', error: expect.stringMatching(/cancelled/) });
    expect(h.standin.requests.at(-1)!.aborted).toBe(true);
  });
});

describe('bounded results', () => {
  it('cuts a long output under 10,000 tokens with a marker, and workflow_status pages through the rest', async () => {
    h = await startHarness();
    const workflow_id = await planned();
    const long = Array.from({ length: 6_000 }, (_, i) => `line ${i}: const value${i} = compute(${i});`).join('\n');
    h.standin.script({ text: long });
    const result = await h.call('execute_subtask', { workflow_id, subtask_id: 's1' });
    expect(countTokens(JSON.stringify(result))).toBeLessThanOrEqual(10_000);
    const out = result.structuredContent as { output: string; output_truncated: boolean };
    expect(out.output_truncated).toBe(true);
    expect(out.output).toMatch(/output truncated: .*workflow_status/);

    let text = '';
    let offset = 0;
    for (let page = 0; page < 100; page++) {
      const status = await h.call('workflow_status', { workflow_id, subtask_id: 's1', offset });
      expect(countTokens(JSON.stringify(status))).toBeLessThanOrEqual(10_000);
      const s = (status.structuredContent as { subtask: { output: string; output_total: number } }).subtask;
      const body = s.output.replace(/\n\n\[output continues: [\s\S]*$/, '');
      text += body;
      offset += body.length;
      if (offset >= s.output_total) break;
    }
    expect(text).toBe(long);
  });
});

// Every tool's result stays under 10,000 o200k tokens (structuredContent and text together, as sent)
// however much a model or a host wrote: a plan of 50 subtasks at every field limit, in the densest
// scripts o200k has (about three tokens per character), outputs of control characters (six bytes
// each once JSON-escaped), maximal review feedback and human decisions. Cut fields say so.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_LIMITS } from '../../src/core/plan.js';
import { REVIEW_LIMITS } from '../../src/core/review.js';
import { TOOLS } from '../../src/mcp/tools/index.js';
import { git, makeRepo } from '../support/git-repo.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import type { StandinReply, StandinRequest } from '../support/openai-standin.js';
import { reviewedIn, subtaskOf } from '../support/responders.js';

const BOUND = 10_000;

/**
 * `n` UTF-16 units of Yi syllables and CJK Extension A, about three o200k tokens each, with a space
 * every 40 (gpt-tokenizer, which the stand-in uses, overflows its stack on one run of 100,000).
 */
function dense(n: number, seed = 0): string {
  let s = '';
  for (let i = 0; s.length < n; i++) s += i % 40 === 39 ? ' ' : String.fromCodePoint(i % 2 ? 0xa000 + ((i * 31 + seed) % 1100) : 0x3400 + ((i * 7919 + seed) % 6500));
  return s.slice(0, n);
}
/** Control characters: one byte each, six once JSON-escaped. */
const controls = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(1 + ((i * 7) % 30))).join('');
const emoji = (n: number) => Array.from({ length: n / 2 }, (_, i) => String.fromCodePoint(0x1f300 + ((i * 31) % 700))).join('');
const base64 = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919) % 256)).toString('base64').slice(0, n);

const OUTPUTS = [dense, controls, emoji, base64];
const N = 50;
/** 40-character ids, the most the plan allows. */
const id = (i: number) => `s${String(i).padStart(2, '0')}-`.padEnd(40, 'x');

const MAX_PLAN = {
  subtasks: Array.from({ length: N }, (_, i) => ({
    id: id(i + 1),
    title: dense(PLAN_LIMITS.title, i),
    description: dense(PLAN_LIMITS.description, i + 1),
    // Each subtask depends on every earlier one: 1,225 dependency edges.
    depends_on: Array.from({ length: i }, (_, j) => id(j + 1)),
    complexity: 'routine',
    output_format: dense(PLAN_LIMITS.output_format, i + 2),
    relevant_files: Array.from({ length: PLAN_LIMITS.relevant_files }, (_, j) => `${dense(PLAN_LIMITS.path - 4, i * 20 + j)}.${j}ts`.slice(0, PLAN_LIMITS.path)),
  })),
  coordination_notes: dense(PLAN_LIMITS.coordination_notes, 9),
};

/** The same plan with no dependencies: run_workflow does it in one wave (a chain would be 50). */
const FLAT_PLAN = { ...MAX_PLAN, subtasks: MAX_PLAN.subtasks.map((s) => ({ ...s, depends_on: [] })) };

let verdict: 'approve' | 'revise' = 'revise';

/** Files one editing subtask creates, each at a long path of dense text (two 60-character folders deep). */
const MANY = 1_000;
const manyPath = (i: number) => `big/${dense(60, i)}/${dense(60, i + 7)}-${i}.txt`;
function changesResponder(req: StandinRequest): StandinReply {
  if (req.schemaName === 'plan') return { json: { subtasks: [{ ...MAX_PLAN.subtasks[0]!, id: 'many', depends_on: [], relevant_files: [], writes: ['big/'], checks: [] }], coordination_notes: '' } };
  if (req.schemaName === 'review') return { json: { verdict: 'approve', reviews: reviewedIn(req).map((subtask_id) => ({ subtask_id, verdict: 'approve', feedback: dense(REVIEW_LIMITS.feedback) })), summary: dense(REVIEW_LIMITS.summary) } };
  return { patchCalls: Array.from({ length: MANY }, (_, i) => ({ type: 'create_file' as const, path: manyPath(i), diff: `+${dense(200, i)}\n` })), text: dense(4_000) };
}

function responder(req: StandinRequest): StandinReply {
  if (req.schemaName === 'plan') return { json: req.inputText.includes('FLAT') ? FLAT_PLAN : MAX_PLAN };
  if (req.schemaName === 'compaction') return { json: { summary: 'Summary.' } };
  if (req.schemaName === 'review') {
    const reviews = reviewedIn(req).map((subtask_id, i) => ({ subtask_id, verdict, feedback: dense(REVIEW_LIMITS.feedback, i) }));
    return { json: { verdict, reviews, summary: dense(REVIEW_LIMITS.summary) } };
  }
  const sid = subtaskOf(req) ?? '?';
  const n = Number(sid.slice(1, 3));
  // Outputs longer than a page in each kind of text; the rest short, since every later subtask's
  // request carries its dependencies' outputs. The last one has no dependents: its output is long.
  if (n === N) return { text: controls(40_000) };
  return { text: n <= OUTPUTS.length ? OUTPUTS[n - 1]!(9_000) : `Output of ${n}.` };
}

let h: Harness;
let workflowId: string;

function tokensOf(result: CallToolResult): number {
  return countTokens(JSON.stringify(result));
}

/** Tools whose results were checked (the first word of `what`). */
const driven = new Set<string>();

function bounded(result: CallToolResult, what: string): void {
  driven.add(what.split(' ')[0]!);
  expect(result.isError, `${what}: ${result.isError ? textOf(result).slice(0, 300) : ''}`).toBeFalsy();
  expect(tokensOf(result), what).toBeLessThanOrEqual(BOUND);
}

beforeAll(async () => {
  h = await startHarness({ standin: { responder } });
}, 60_000);
afterAll(async () => {
  await h.close();
});

describe('results stay under 10,000 tokens with maximal content', () => {
  it('plan_task: 50 subtasks at every field limit, cut with a marker and a hint on how to see the rest', async () => {
    const result = await h.call('plan_task', { request: dense(100_000), context: dense(200_000) });
    bounded(result, 'plan_task');
    const plan = result.structuredContent as any;
    workflowId = plan.workflow_id;
    expect(plan.subtasks).toHaveLength(N);
    expect(plan.subtasks[0].id).toBe(id(1));
    expect(plan.subtasks.some((s: any) => /…\[cut/.test(s.description))).toBe(true);
    expect(plan.next).toMatch(/cut.*workflow_status/s);
    // The stored plan is whole.
    expect((await h.store.workflows.listSubtasks(workflowId))[49]!.description).toBe(MAX_PLAN.subtasks[49]!.description);
  }, 60_000);

  it('execute_subtask: every subtask, outputs in dense scripts, emoji, base64 and control characters', async () => {
    for (let i = 1; i <= N; i++) {
      const result = await h.call('execute_subtask', { workflow_id: workflowId, subtask_id: id(i) });
      bounded(result, `execute_subtask ${i}`);
      const r = result.structuredContent as any;
      if (i <= OUTPUTS.length || i === N) {
        expect(r.output_truncated).toBe(true);
        expect(r.output).toMatch(/Get the rest with workflow_status/);
      }
    }
  }, 120_000);

  it('review_results: 50 reviews with maximal feedback and summary', async () => {
    bounded(await h.call('review_results', { workflow_id: workflowId }), 'review_results');
  }, 60_000);

  it('workflow_status: the workflow, one subtask in full, and its output paged to the end', async () => {
    bounded(await h.call('workflow_status', { workflow_id: workflowId }), 'workflow_status');
    const first = await h.call('workflow_status', { workflow_id: workflowId, subtask_id: id(N) });
    bounded(first, 'workflow_status subtask');
    // Paging by the marker's offset reads the whole output back.
    const stored = (await h.store.workflows.listSubtasks(workflowId)).find((s) => s.id === id(N))!.output!;
    let text = '';
    let offset = 0;
    for (let page = 0; page < 200 && offset < stored.length; page++) {
      const result = await h.call('workflow_status', { workflow_id: workflowId, subtask_id: id(N), offset });
      bounded(result, `workflow_status page ${page}`);
      const s = (result.structuredContent as any).subtask;
      const body = s.output.replace(/\n\n\[output continues: [\s\S]*$/, '');
      expect(s.output_offset).toBe(offset);
      text += body;
      offset += body.length;
    }
    expect(text).toBe(stored);
  }, 120_000);

  it('review_results with 50 human decisions of maximal feedback', async () => {
    for (let i = 1; i <= N; i++) await h.ok('execute_subtask', { workflow_id: workflowId, subtask_id: id(i) });
    const decisions = Array.from({ length: N }, (_, i) => ({ subtask_id: id(i + 1), verdict: 'revise', feedback: dense(20_000, i) }));
    bounded(await h.call('review_results', { workflow_id: workflowId, decisions }), 'review_results decisions');
  }, 120_000);

  it('run_workflow: 50 subtasks planned, executed and reviewed to the end', async () => {
    verdict = 'approve';
    const result = await h.call('run_workflow', { request: `FLAT ${dense(99_000)}`, concurrency: 8 });
    bounded(result, 'run_workflow');
    expect((result.structuredContent as any).phase).toBe('completed');
  }, 120_000);

  it('cancel_workflow and the list of workflows, with requests of 100,000 dense characters', async () => {
    let last = '';
    // Goals are a request's first line: long lines of dense text for each of the 20 listed.
    for (let i = 0; i < 20; i++) last = (await h.ok<{ workflow_id: string }>('plan_task', { request: dense(i < 2 ? 100_000 : 2_000, i) })).workflow_id;
    bounded(await h.call('cancel_workflow', { workflow_id: last }), 'cancel_workflow');
    bounded(await h.call('workflow_status', {}), 'workflow_status list');
    bounded(await h.call('workflow_status', { workflow_id: last }), 'workflow_status of a cancelled workflow');
  }, 180_000);

  it('an error that quotes a model\'s over-long answer', async () => {
    const huge = { ...MAX_PLAN, subtasks: MAX_PLAN.subtasks.map((s) => ({ ...s, relevant_files: [`../${dense(50_000)}`], depends_on: [dense(5_000)] })) };
    h.standin.script({ json: huge }, { json: huge });
    const result = await h.call('plan_task', { request: 'Plan it.' });
    expect(result.isError).toBe(true);
    expect(tokensOf(result)).toBeLessThanOrEqual(BOUND);
  }, 60_000);

  it('changes: a branch of 1,000 files with long names through execute_subtask, workflow_status, merge_changes and discard_changes', async () => {
    const edits = await startHarness({ env: { PLANEXEC_LEASE_MS: '600000' }, standin: { responder: changesResponder } });
    try {
      makeRepo(edits.root, { 'README.md': 'hello\n' });
      const { workflow_id } = await edits.ok<{ workflow_id: string }>('plan_task', { request: 'Write many files' });
      const executed = await edits.call('execute_subtask', { workflow_id, subtask_id: 'many' });
      bounded(executed, 'execute_subtask many files');
      expect((executed.structuredContent as any).changes.files.length).toBeGreaterThan(0);
      bounded(await edits.call('workflow_status', { workflow_id }), 'workflow_status many files');
      bounded(await edits.call('review_results', { workflow_id }), 'review_results many files');
      const merged = await edits.call('merge_changes', { workflow_id });
      bounded(merged, 'merge_changes many files');
      expect(git(edits.root, 'rev-parse', 'HEAD')).toBe((merged.structuredContent as any).changes.merged.commit);
      expect(git(edits.root, 'diff', '--shortstat', 'HEAD~1', 'HEAD')).toMatch(new RegExp(`^ ?${MANY} files changed`));
      bounded(await edits.call('discard_changes', { workflow_id }), 'discard_changes many files');
    } finally {
      await edits.close();
    }
  }, 120_000);

  it('drove every tool of the registry', () => {
    expect([...driven].sort()).toEqual(TOOLS.map((t) => t.name).sort());
  });
});

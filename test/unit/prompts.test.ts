import { describe, expect, it } from 'vitest';
import type { WorkspaceFile } from '../../src/core/ports.js';
import {
  EXECUTOR_INSTRUCTIONS,
  PLANNER_INSTRUCTIONS,
  renderExecutorInput,
  renderFile,
  renderPlanInput,
  renderRepairInput,
  renderReviewInput,
} from '../../src/core/prompts.js';
import { subtask } from './builders.js';

const file = (path: string, content: string, extra: Partial<WorkspaceFile> = {}): WorkspaceFile => ({
  kind: 'file',
  path,
  bytes: Buffer.byteLength(content),
  content,
  truncated: false,
  binary: false,
  sha256: 'x',
  ...extra,
});

describe('instructions', () => {
  it('the planner and executor instructions are fixed text with no placeholders', async () => {
    for (const text of [PLANNER_INSTRUCTIONS, EXECUTOR_INSTRUCTIONS]) {
      expect(text).not.toMatch(/\$\{|undefined|\[object Object\]/);
      expect(text.length).toBeGreaterThan(500);
    }
    expect(PLANNER_INSTRUCTIONS.startsWith('You are the planner of planexec')).toBe(true);
    expect(EXECUTOR_INSTRUCTIONS.startsWith('You are an executor of planexec')).toBe(true);
  });
});

describe('renderFile', () => {
  it('renderFile heads a whole file with its path and size', async () => {
    expect(renderFile(file('a.ts', 'const a = 1;'))).toBe('=== a.ts, 12 bytes ===\nconst a = 1;');
  });

  it('renderFile says how much of a truncated file is shown, in UTF-8 bytes', async () => {
    expect(renderFile(file('a.txt', 'héllo', { bytes: 100, truncated: true }))).toBe('=== a.txt, first 6 of 100 bytes ===\nhéllo');
  });

  it('renderFile shows a binary file as a header only', async () => {
    expect(renderFile(file('a.png', '', { bytes: 2048, truncated: true, binary: true }))).toBe('=== a.png, 2048 bytes, binary: not shown ===');
  });
});

describe('renderPlanInput', () => {
  it('renderPlanInput starts with the task and the trimmed request, then context and files', async () => {
    expect(renderPlanInput('  Add login \n', '  Uses Express. ', [file('a.ts', 'A'), file('b.ts', 'B')])).toBe(
      'Task: plan\nRequest: Add login\n\nContext from the host:\nUses Express.\n\nFiles:\n=== a.ts, 1 bytes ===\nA\n\n=== b.ts, 1 bytes ===\nB',
    );
  });

  it('renderPlanInput leaves out empty context and an empty file list', async () => {
    expect(renderPlanInput('Add login', '   ', [])).toBe('Task: plan\nRequest: Add login');
    expect(renderPlanInput('Add login', null, [])).toBe('Task: plan\nRequest: Add login');
  });
});

describe('renderRepairInput', () => {
  it('renderRepairInput lists each problem on its own line', async () => {
    expect(renderRepairInput(['First.', 'Second.'])).toBe(
      'Task: repair\nYour answer cannot be used as it is:\n- First.\n- Second.\nAnswer again with the complete corrected JSON.',
    );
  });
});

describe('renderReviewInput', () => {
  it('renderReviewInput gives each subtask its description, attempt, model, format and output, and marks a cut output', async () => {
    const items = [
      { subtask: subtask('s1', 'completed', { attempts: 2, model: 'gpt-5.4-mini' }), output: 'diff one', outputTruncated: false },
      { subtask: subtask('s2', 'completed', { output_format: 'a markdown list' }), output: 'partial', outputTruncated: true },
    ];
    expect(renderReviewInput(3, items)).toBe(
      [
        'Task: review\nPlan version 3. Review the results of these 2 subtask(s).',
        '### Subtask s1: Title of s1\nDescription of s1\nAttempt 2 on gpt-5.4-mini. Expected output format: a unified diff\nOutput:\ndiff one',
        '### Subtask s2: Title of s2\nDescription of s2\nAttempt 1 on unknown model. Expected output format: a markdown list\nOutput:\npartial\n[output cut for length]',
      ].join('\n\n'),
    );
  });
});

describe('renderExecutorInput', () => {
  it('renderExecutorInput marks a cut dependency output', async () => {
    const input = renderExecutorInput({
      goal: 'G',
      files: [],
      dependencies: [{ id: 's1', title: 'T', output: 'abc', truncated: true }],
      subtask: { id: 's2', title: 'U', description: 'D', output_format: 'F' },
      feedback: null,
      notes: null,
    });
    expect(input).toBe(
      'Goal of the workflow: G\n\n## Outputs of the subtasks this one depends on\n### s1: T\nabc\n[output cut for length]\n\n## Subtask s2: U\nD\n\nExpected output format: F',
    );
  });
});

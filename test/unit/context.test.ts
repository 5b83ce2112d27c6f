import { describe, expect, it } from 'vitest';
import { buildExecutorContext, type BuildContextArgs, type ContextLimits } from '../../src/core/context.js';
import type { MissingFile, WorkspaceFile, WorkspaceReader } from '../../src/core/ports.js';
import { EXECUTOR_INSTRUCTIONS } from '../../src/core/prompts.js';
import type { Subtask } from '../../src/core/types.js';
import { MapWorkspaceReader, sha256Hex } from '../support/fakes.js';
import { fileUnreadable, pathOutsideRoot } from '../../src/core/errors.js';
import { subtask, workflow } from './builders.js';

const LIMITS: ContextLimits = { maxFileBytes: 1_000, maxContextBytes: 5_000, maxDependencyChars: 1_000 };

function args(target: Subtask, all: Subtask[], over: Partial<BuildContextArgs> = {}): BuildContextArgs {
  return {
    workflow: workflow({ goal: 'Add a login page' }),
    subtask: target,
    all,
    notes: null,
    files: new MapWorkspaceReader(),
    limits: LIMITS,
    ...over,
  };
}

describe('buildExecutorContext: what the executor sees', () => {
  const s1 = subtask('s1', 'completed', { output: 'S1-OUTPUT indirect' });
  const s2 = subtask('s2', 'completed', { depends_on: ['s1'], output: 'S2-OUTPUT direct' });
  const s3 = subtask('s3', 'approved', { output: 'S3-OUTPUT direct approved' });
  const s4 = subtask('s4', 'completed', { output: 'S4-OUTPUT unrelated' });
  const target = subtask('s5', 'pending', {
    depends_on: ['s2', 's3'],
    relevant_files: ['src/b.ts', 'src/a.ts', 'src/b.ts'],
    feedback: 'Use bcrypt.',
  });
  const all = [s1, s2, s3, s4, target];
  const files = { 'src/a.ts': 'export const a = 1;', 'src/b.ts': 'export const b = 2;', 'src/unlisted.ts': 'secret' };

  it('buildExecutorContext renders goal, files, direct dependency outputs, subtask, feedback and notes in that order', async () => {
    const reader = new MapWorkspaceReader(files);
    const ctx = await buildExecutorContext(args(target, all, { files: reader, notes: 'Run on Node 20.' }));
    expect(ctx.input).toBe(
      [
        'Goal of the workflow: Add a login page',
        '## Files\n=== src/a.ts, 19 bytes ===\nexport const a = 1;\n\n=== src/b.ts, 19 bytes ===\nexport const b = 2;',
        '## Outputs of the subtasks this one depends on\n### s2: Title of s2\nS2-OUTPUT direct\n\n### s3: Title of s3\nS3-OUTPUT direct approved',
        '## Subtask s5: Title of s5\nDescription of s5\n\nExpected output format: a unified diff',
        '## Review feedback on your previous attempt\nUse bcrypt.',
        '## Notes from the host\nRun on Node 20.',
      ].join('\n\n'),
    );
    expect(ctx.instructions).toBe(EXECUTOR_INSTRUCTIONS);
  });

  it("buildExecutorContext never shows an indirect dependency's or an unrelated subtask's output", async () => {
    const ctx = await buildExecutorContext(args(target, all, { files: new MapWorkspaceReader(files) }));
    expect(ctx.input).toContain('S2-OUTPUT direct');
    expect(ctx.input).toContain('S3-OUTPUT direct approved');
    expect(ctx.input).not.toContain('S1-OUTPUT');
    expect(ctx.input).not.toContain('S4-OUTPUT');
    expect(ctx.input).not.toContain('secret');
    expect(ctx.report.dependencies).toEqual([
      { subtask_id: 's2', chars: 16, truncated: false },
      { subtask_id: 's3', chars: 25, truncated: false },
    ]);
  });

  it('buildExecutorContext reads each relevant file once, in sorted order, and reports it', async () => {
    const reader = new MapWorkspaceReader(files);
    const ctx = await buildExecutorContext(args(target, all, { files: reader }));
    expect(reader.reads).toEqual([
      { root: '/workspace', path: 'src/a.ts', maxBytes: 1_000 },
      { root: '/workspace', path: 'src/b.ts', maxBytes: 1_000 },
    ]);
    expect(ctx.report.files).toEqual([
      { path: 'src/a.ts', bytes: 19, sent_bytes: 19, range: [0, 19], truncated: false, missing: false, sha256: sha256Hex('export const a = 1;'), note: null },
      { path: 'src/b.ts', bytes: 19, sent_bytes: 19, range: [0, 19], truncated: false, missing: false, sha256: sha256Hex('export const b = 2;'), note: null },
    ]);
  });

  it('buildExecutorContext leaves out the sections that have nothing in them', async () => {
    const lone = subtask('s1', 'pending');
    const ctx = await buildExecutorContext(args(lone, [lone]));
    expect(ctx.input).toBe('Goal of the workflow: Add a login page\n\n## Subtask s1: Title of s1\nDescription of s1\n\nExpected output format: a unified diff');
    expect(ctx.report.files).toEqual([]);
    expect(ctx.report.dependencies).toEqual([]);
  });

  it('buildExecutorContext lists dependency outputs in the order of depends_on', async () => {
    const t = subtask('t', 'pending', { depends_on: ['s3', 's2'] });
    const ctx = await buildExecutorContext(args(t, [s1, s2, s3, t]));
    expect(ctx.input.indexOf('### s3: Title of s3')).toBeGreaterThan(0);
    expect(ctx.input.indexOf('### s3: Title of s3')).toBeLessThan(ctx.input.indexOf('### s2: Title of s2'));
    expect(ctx.report.dependencies.map((d) => d.subtask_id)).toEqual(['s3', 's2']);
  });

  it('buildExecutorContext sends the same instructions on every call, whatever the subtask', async () => {
    const a = await buildExecutorContext(args(target, all, { files: new MapWorkspaceReader(files), notes: 'x' }));
    const lone = subtask('s9', 'pending', { complexity: 'complex', relevant_files: ['src/a.ts'] });
    const b = await buildExecutorContext(args(lone, [lone], { files: new MapWorkspaceReader(files) }));
    expect(a.instructions).toBe(EXECUTOR_INSTRUCTIONS);
    expect(b.instructions).toBe(a.instructions);
    expect(b.input).not.toBe(a.input);
  });

  it('buildExecutorContext gives sibling subtasks that read the same files the same input up to their own section', async () => {
    const x = subtask('x', 'pending', { relevant_files: ['src/b.ts', 'src/a.ts'] });
    const y = subtask('y', 'pending', { relevant_files: ['src/a.ts', 'src/b.ts'] });
    const cx = await buildExecutorContext(args(x, [x, y], { files: new MapWorkspaceReader(files) }));
    const cy = await buildExecutorContext(args(y, [x, y], { files: new MapWorkspaceReader(files) }));
    const prefix = (input: string) => input.slice(0, input.indexOf('## Subtask '));
    expect(prefix(cx.input)).toBe(prefix(cy.input));
    expect(prefix(cx.input)).toBe(
      'Goal of the workflow: Add a login page\n\n## Files\n=== src/a.ts, 19 bytes ===\nexport const a = 1;\n\n=== src/b.ts, 19 bytes ===\nexport const b = 2;\n\n',
    );
  });
});

describe('buildExecutorContext: size caps', () => {
  it('buildExecutorContext cuts each file at maxFileBytes and stops at maxContextBytes for the whole call', async () => {
    const reader = new MapWorkspaceReader({ 'a.txt': 'a'.repeat(8), 'b.txt': 'b'.repeat(20), 'c.txt': 'c'.repeat(20) });
    const t = subtask('t', 'pending', { relevant_files: ['c.txt', 'a.txt', 'b.txt'] });
    const ctx = await buildExecutorContext(args(t, [t], { files: reader, limits: { ...LIMITS, maxFileBytes: 10, maxContextBytes: 15 } }));
    // a: min(10, 15) -> all 8 bytes, 7 left; b: min(10, 7) -> 7 of 20; c: nothing left.
    expect(reader.reads).toEqual([
      { root: '/workspace', path: 'a.txt', maxBytes: 10 },
      { root: '/workspace', path: 'b.txt', maxBytes: 7 },
      { root: '/workspace', path: 'c.txt', maxBytes: 0 },
    ]);
    expect(ctx.report.files).toEqual([
      { path: 'a.txt', bytes: 8, sent_bytes: 8, range: [0, 8], truncated: false, missing: false, sha256: sha256Hex('aaaaaaaa'), note: null },
      { path: 'b.txt', bytes: 20, sent_bytes: 7, range: [0, 7], truncated: true, missing: false, sha256: sha256Hex('bbbbbbb'), note: null },
      { path: 'c.txt', bytes: 20, sent_bytes: 0, range: [0, 0], truncated: true, missing: false, sha256: sha256Hex(''), note: null },
    ]);
    expect(ctx.input).toContain('=== a.txt, 8 bytes ===\naaaaaaaa\n\n=== b.txt, first 7 of 20 bytes ===\nbbbbbbb\n\n=== c.txt, 20 bytes: not shown, the size limit for files in one request is used up ===');
  });

  it('buildExecutorContext counts the per-call cap in UTF-8 bytes actually sent', async () => {
    // 'é' is 2 bytes: a 5-byte cap keeps 2 characters (4 bytes), leaving 6 of 10 for the next file.
    const reader = new MapWorkspaceReader({ 'a.txt': 'ééé', 'b.txt': 'x'.repeat(9) });
    const t = subtask('t', 'pending', { relevant_files: ['a.txt', 'b.txt'] });
    const ctx = await buildExecutorContext(args(t, [t], { files: reader, limits: { ...LIMITS, maxFileBytes: 5, maxContextBytes: 10 } }));
    expect(reader.reads).toEqual([
      { root: '/workspace', path: 'a.txt', maxBytes: 5 },
      { root: '/workspace', path: 'b.txt', maxBytes: 5 },
    ]);
    expect(ctx.report.files.map((f) => [f.path, f.bytes, f.sent_bytes, f.truncated])).toEqual([
      ['a.txt', 6, 4, true],
      ['b.txt', 9, 5, true],
    ]);
  });

  it('buildExecutorContext reports a missing file without using any of the per-call budget', async () => {
    const reader = new MapWorkspaceReader({ 'z.txt': 'z'.repeat(10) });
    const t = subtask('t', 'pending', { relevant_files: ['z.txt', 'gone.ts'] });
    const ctx = await buildExecutorContext(args(t, [t], { files: reader, limits: { ...LIMITS, maxFileBytes: 100, maxContextBytes: 10 } }));
    expect(reader.reads).toEqual([
      { root: '/workspace', path: 'gone.ts', maxBytes: 10 },
      { root: '/workspace', path: 'z.txt', maxBytes: 10 },
    ]);
    expect(ctx.report.files).toEqual([
      { path: 'gone.ts', bytes: 0, sent_bytes: 0, range: [0, 0], truncated: false, missing: true, sha256: null, note: null },
      { path: 'z.txt', bytes: 10, sent_bytes: 10, range: [0, 10], truncated: false, missing: false, sha256: sha256Hex('z'.repeat(10)), note: null },
    ]);
    expect(ctx.input).not.toContain('gone.ts');
  });

  it('buildExecutorContext shows a binary file as a header only', async () => {
    const binary: WorkspaceReader = {
      async read(_root: string, path: string): Promise<WorkspaceFile | MissingFile> {
        return { kind: 'file', path, bytes: 300, content: '', truncated: true, binary: true, sha256: sha256Hex('') };
      },
    };
    const t = subtask('t', 'pending', { relevant_files: ['img.png'] });
    const ctx = await buildExecutorContext(args(t, [t], { files: binary }));
    expect(ctx.input).toContain('## Files\n=== img.png, 300 bytes, binary: not shown ===\n\n## Subtask t');
    expect(ctx.report.files).toEqual([{ path: 'img.png', bytes: 300, sent_bytes: 0, range: [0, 0], truncated: true, missing: false, sha256: sha256Hex(''), note: 'binary file: not shown' }]);
  });

  it('buildExecutorContext cuts a dependency output at maxDependencyChars and says so', async () => {
    const dep = subtask('s1', 'completed', { output: 'abcdefghij' });
    const short = subtask('s2', 'completed', { output: 'abcde' });
    const t = subtask('t', 'pending', { depends_on: ['s1', 's2'] });
    const ctx = await buildExecutorContext(args(t, [dep, short, t], { limits: { ...LIMITS, maxDependencyChars: 5 } }));
    expect(ctx.input).toContain(
      '## Outputs of the subtasks this one depends on\n### s1: Title of s1\nabcde\n[output cut for length]\n\n### s2: Title of s2\nabcde\n\n## Subtask t',
    );
    expect(ctx.input).not.toContain('abcdef');
    expect(ctx.report.dependencies).toEqual([
      { subtask_id: 's1', chars: 10, truncated: true },
      { subtask_id: 's2', chars: 5, truncated: false },
    ]);
  });
});

describe('buildExecutorContext: report and preconditions', () => {
  it('buildExecutorContext reports files, dependencies and the host notes; token counts come from the provider', async () => {
    const t = subtask('t', 'pending');
    expect((await buildExecutorContext(args(t, [t]))).report).toEqual({ files: [], dependencies: [], notes: null });
    expect((await buildExecutorContext(args(t, [t], { notes: 'Keep it short.' }))).report.notes).toBe('Keep it short.');
  });

  it('buildExecutorContext reports a folder among the relevant files instead of failing the subtask', async () => {
    const t = subtask('t', 'pending', { relevant_files: ['src'] });
    const folder = { read: async () => { throw fileUnreadable('src', 'it is not a regular file'); } };
    const ctx = await buildExecutorContext(args(t, [t], { files: folder }));
    expect(ctx.report.files).toEqual([
      { path: 'src', bytes: 0, sent_bytes: 0, range: [0, 0], truncated: false, missing: true, sha256: null, note: "File 'src' cannot be read: it is not a regular file." },
    ]);
    const outside = { read: async () => { throw pathOutsideRoot('../x', 'it leaves the root'); } };
    await expect(buildExecutorContext(args(subtask('u', 'pending', { relevant_files: ['../x'] }), [], { files: outside }))).rejects.toThrow(/not allowed/);
  });

  it('buildExecutorContext refuses a subtask whose dependencies are not completed or approved, before reading files', async () => {
    const reader = new MapWorkspaceReader({ 'a.txt': 'a' });
    const all = [
      subtask('s1', 'pending'),
      subtask('s2', 'approved', { output: 'ok' }),
      subtask('s3', 'running'),
      subtask('s4', 'needs_human'),
      subtask('s5', 'failed'),
    ];
    const t = subtask('t', 'pending', { depends_on: ['s1', 's2', 's3', 's4', 's5'], relevant_files: ['a.txt'] });
    await expect(buildExecutorContext(args(t, [...all, t], { files: reader }))).rejects.toThrow(
      'buildExecutorContext called with incomplete dependencies: s1, s3, s4, s5',
    );
    expect(reader.reads).toEqual([]);
  });
});

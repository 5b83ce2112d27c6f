// The pure rules of changes: which paths an editing executor may touch, how its operations apply
// in memory, which failed checks count against an attempt, and which subtasks may not run together.
import { describe, expect, it } from 'vitest';
import { applyOperations, editRefusal, failingChecks, unresolved, type Overlay } from '../../src/core/changes.js';
import type { CheckResult } from '../../src/core/types.js';
import { writesOverlap } from '../../src/core/wave.js';

describe('editRefusal', () => {
  const writes = ['src/a.ts', 'docs', 'lib/'];
  it.each([
    ['src/a.ts', null],
    ['./src/a.ts', null],
    ['docs/guide.md', null],
    ['lib/deep/x.ts', null],
    ['src/b.ts', /not among the files/],
    ['docsx/a.md', /not among the files/],
    ['../a.ts', /path/],
    ['/etc/passwd', /path/],
    ['docs/.git/config', /inside \.git/],
    ['.GIT/config', /inside \.git|not among/],
  ])('%s', (path, expected) => {
    const why = editRefusal(path, writes);
    if (expected === null) expect(why).toBeNull();
    else expect(why).toMatch(expected);
  });
});

describe('applyOperations', () => {
  const files: Record<string, string> = { 'a.txt': 'one\ntwo\nthree\n' };
  const read = async (path: string) => files[path] ?? null;

  it('applies each operation on its own: a failing one changes nothing, the next still applies', async () => {
    const overlay: Overlay = new Map();
    const applied = await applyOperations(
      [
        { callId: 'c1', operation: { type: 'update_file', path: 'a.txt', diff: '@@\n one\n-two\n+TWO\n' } },
        { callId: 'c2', operation: { type: 'update_file', path: 'a.txt', diff: '@@\n-nowhere\n+x\n' } },
        { callId: 'c3', operation: { type: 'create_file', path: 'a.txt', diff: '+again\n' } },
        { callId: 'c4', operation: { type: 'create_file', path: 'b.txt', diff: '+b\n' } },
        { callId: 'c5', operation: { type: 'delete_file', path: 'gone.txt', diff: '' } },
        { callId: 'c6', operation: { type: 'create_file', path: 'c.txt', diff: '+c\n' } },
      ],
      ['a.txt', 'b.txt', 'gone.txt'],
      overlay,
      read,
    );
    expect(applied.map((a) => [a.callId, a.ok, a.refused])).toEqual([
      ['c1', true, false],
      ['c2', false, false],
      ['c3', false, false],
      ['c4', true, false],
      ['c5', false, false],
      ['c6', false, true],
    ]);
    expect(applied[2]!.message).toMatch(/already exists/);
    expect(Object.fromEntries(overlay)).toEqual({ 'a.txt': 'one\nTWO\nthree\n', 'b.txt': 'b\n' });
    // What never went through, per path, is what the result reports.
    expect(unresolved(applied).map((r) => r.path)).toEqual(['a.txt', 'gone.txt', 'c.txt']);
  });

  it('a later round that fixes a path clears it from the unresolved', async () => {
    const overlay: Overlay = new Map();
    const first = await applyOperations([{ callId: 'c1', operation: { type: 'update_file', path: 'a.txt', diff: '@@\n-nowhere\n+x\n' } }], ['a.txt'], overlay, read);
    const second = await applyOperations([{ callId: 'c2', operation: { type: 'update_file', path: 'a.txt', diff: '@@\n-three\n+3\n' } }], ['a.txt'], overlay, read);
    expect(unresolved([...first, ...second])).toEqual([]);
    expect(overlay.get('a.txt')).toBe('one\ntwo\n3\n');
  });

  it('refuses a move out of writes, and moves within them', async () => {
    const overlay: Overlay = new Map();
    const applied = await applyOperations(
      [
        { callId: 'm1', operation: { type: 'update_file', path: 'a.txt', diff: '', moveTo: 'elsewhere.txt' } },
        { callId: 'm2', operation: { type: 'update_file', path: 'a.txt', diff: '', moveTo: 'moved.txt' } },
      ],
      ['a.txt', 'moved.txt'],
      overlay,
      read,
    );
    expect(applied.map((a) => [a.ok, a.refused])).toEqual([
      [false, true],
      [true, false],
    ]);
    expect(Object.fromEntries(overlay)).toEqual({ 'a.txt': null, 'moved.txt': files['a.txt'] });
  });
});

describe('failingChecks', () => {
  const check = (command: string, passed: boolean, source: 'host' | 'subtask' = 'host'): CheckResult => ({ command, passed, source, exit_code: passed ? 0 : 1, timed_out: false, duration_ms: 1, output_tail: '' });

  it('counts a regression of a host check and any failing own check, not a host check that already failed on the base', () => {
    const base = [check('npm test', true), check('npm run lint', false)];
    const results = [check('npm test', false), check('npm run lint', false), check('node --test x', false, 'subtask')];
    expect(failingChecks(results, base, new Set(['node --test x'])).map((c) => c.command)).toEqual(['npm test', 'node --test x']);
    // The subtask meant to fix the lint is held to it.
    expect(failingChecks(results, base, new Set(['npm run lint'])).map((c) => c.command)).toEqual(['npm test', 'npm run lint']);
    expect(failingChecks([check('npm test', true)], base, new Set())).toEqual([]);
  });
});

describe('writesOverlap', () => {
  const w = (...writes: string[]) => ({ writes });
  it.each([
    [w('a.ts'), w('a.ts'), true],
    [w('a.ts'), w('b.ts'), false],
    [w('src/'), w('src/x.ts'), true],
    [w('src'), w('src/deep/x.ts'), true],
    [w('src'), w('srcx/a.ts'), false],
    [w('lib/a.ts', 'c.ts'), w('c.ts'), true],
    [w(), w('a.ts'), false],
  ])('%j and %j: %s', (a, b, expected) => {
    expect(writesOverlap(a, b)).toBe(expected);
    expect(writesOverlap(b, a)).toBe(expected);
  });
});

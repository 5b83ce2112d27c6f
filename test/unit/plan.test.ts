import { describe, expect, it } from 'vitest';
import {
  findCycle,
  isDone,
  MAX_SUBTASKS,
  missingDependencies,
  readySubtasks,
  relativePathProblem,
  validatePlan,
  type Plan,
} from '../../src/core/plan.js';
import { planned, subtask, type PlanSubtask } from './builders.js';

const plan = (...subtasks: PlanSubtask[]): Plan => ({ subtasks, coordination_notes: 'notes' });

describe('validatePlan', () => {
  it('validatePlan accepts a well-formed plan with dependencies and relevant files', async () => {
    const p = plan(
      planned('s1', [], { relevant_files: ['src/a.ts', 'docs/README.md'] }),
      planned('s2', ['s1']),
      planned('s3', ['s1', 's2'], { complexity: 'complex' }),
    );
    expect(validatePlan(p)).toEqual([]);
  });

  it('validatePlan accepts a dependency on a subtask listed later in the plan', async () => {
    expect(validatePlan(plan(planned('s1', ['s2']), planned('s2')))).toEqual([]);
  });

  it('validatePlan rejects a plan with no subtasks', async () => {
    expect(validatePlan(plan())).toEqual(['The plan has no subtasks; give at least one.']);
  });

  it('validatePlan accepts exactly 50 subtasks and rejects 51 with the count and the limit', async () => {
    const many = (n: number) => plan(...Array.from({ length: n }, (_, i) => planned(`s${i + 1}`)));
    expect(MAX_SUBTASKS).toBe(50);
    expect(validatePlan(many(50))).toEqual([]);
    expect(validatePlan(many(51))).toEqual(['The plan has 51 subtasks; the limit is 50. Merge related work.']);
  });

  it('validatePlan rejects a duplicate id once per repeated occurrence', async () => {
    expect(validatePlan(plan(planned('s1'), planned('s2'), planned('s1')))).toEqual([
      "Subtask 's1': id is used more than once; ids must be unique.",
    ]);
    expect(validatePlan(plan(planned('s1'), planned('s1'), planned('s1')))).toEqual([
      "Subtask 's1': id is used more than once; ids must be unique.",
      "Subtask 's1': id is used more than once; ids must be unique.",
    ]);
  });

  it('validatePlan rejects ids with spaces, slashes, a leading punctuation mark, or more than 40 characters', async () => {
    const rule = "id must be 1-40 letters, digits, '_', '.' or '-', starting with a letter or digit.";
    const long = `a${'b'.repeat(40)}`;
    expect(validatePlan(plan(planned('bad id'), planned('a/b'), planned('-s1'), planned('_s'), planned(long)))).toEqual([
      `Subtask 'bad id': ${rule}`,
      `Subtask 'a/b': ${rule}`,
      `Subtask '-s1': ${rule}`,
      `Subtask '_s': ${rule}`,
      `Subtask '${long}': ${rule}`,
    ]);
  });

  it('validatePlan accepts ids of 40 characters with letters, digits, underscore, dot and hyphen', async () => {
    const forty = `S${'x'.repeat(39)}`;
    expect(forty).toHaveLength(40);
    expect(validatePlan(plan(planned(forty), planned('s1.a_b-c'), planned('9')))).toEqual([]);
  });

  it('validatePlan names a subtask with an empty id by its position', async () => {
    expect(validatePlan(plan(planned('s1'), planned('')))).toEqual([
      "Subtask #2: id must be 1-40 letters, digits, '_', '.' or '-', starting with a letter or digit.",
    ]);
  });

  it('validatePlan rejects an empty or whitespace-only title and description', async () => {
    expect(validatePlan(plan(planned('s1', [], { title: '', description: ' \n\t ' })))).toEqual([
      "Subtask 's1': title is empty.",
      "Subtask 's1': description is empty.",
    ]);
  });

  it('validatePlan rejects a dependency on an unknown subtask and names both', async () => {
    expect(validatePlan(plan(planned('s1'), planned('s2', ['s1', 's9'])))).toEqual(["Subtask 's2' depends on unknown subtask 's9'."]);
  });

  it('validatePlan rejects a self dependency without also reporting it as a cycle', async () => {
    expect(validatePlan(plan(planned('s1', ['s1'])))).toEqual(["Subtask 's1' depends on itself."]);
  });

  it('validatePlan rejects a dependency listed twice', async () => {
    expect(validatePlan(plan(planned('s1'), planned('s2', ['s1', 's1'])))).toEqual(["Subtask 's2' lists a dependency twice."]);
  });

  it('validatePlan rejects a dependency cycle and names its members as a path', async () => {
    expect(validatePlan(plan(planned('s1', ['s2']), planned('s2', ['s1'])))).toEqual([
      'Dependencies form a cycle: s1 -> s2 -> s1. Remove one of these dependencies.',
    ]);
  });

  it('validatePlan reports only the members of a cycle, not the subtasks that lead into it', async () => {
    const p = plan(planned('s0', ['s1']), planned('s1', ['s2']), planned('s2', ['s3']), planned('s3', ['s1']));
    expect(validatePlan(p)).toEqual(['Dependencies form a cycle: s1 -> s2 -> s3 -> s1. Remove one of these dependencies.']);
  });

  it('validatePlan rejects relevant files that are absolute, Windows-absolute, contain "..", or are empty', async () => {
    const files = ['/etc/passwd', 'C:\\repo\\a.ts', 'c:/repo/a.ts', '\\\\server\\share', 'src/../../secret', 'a\\..\\b', '', '   ', 'ok/file.ts'];
    expect(validatePlan(plan(planned('s1', [], { relevant_files: files })))).toEqual([
      "Subtask 's1': relevant file '/etc/passwd' is absolute; use a path relative to the workspace root.",
      "Subtask 's1': relevant file 'C:\\repo\\a.ts' is absolute; use a path relative to the workspace root.",
      "Subtask 's1': relevant file 'c:/repo/a.ts' is absolute; use a path relative to the workspace root.",
      "Subtask 's1': relevant file '\\\\server\\share' is absolute; use a path relative to the workspace root.",
      `Subtask 's1': relevant file 'src/../../secret' contains ".."; paths must stay inside the workspace root.`,
      `Subtask 's1': relevant file 'a\\..\\b' contains ".."; paths must stay inside the workspace root.`,
      "Subtask 's1': relevant file '' is empty.",
      "Subtask 's1': relevant file '   ' is empty.",
    ]);
  });

  it('validatePlan lists every problem of a plan, per-subtask checks first and the cycle last', async () => {
    const p = plan(planned('s1', ['s2'], { title: ' ' }), planned('s2', ['s1', 'nope']), planned('s3'), planned('s3'));
    expect(validatePlan(p)).toEqual([
      "Subtask 's1': title is empty.",
      "Subtask 's3': id is used more than once; ids must be unique.",
      "Subtask 's2' depends on unknown subtask 'nope'.",
      'Dependencies form a cycle: s1 -> s2 -> s1. Remove one of these dependencies.',
    ]);
  });
});

describe('relativePathProblem', () => {
  it('relativePathProblem accepts plain relative paths, including dotfiles and names that merely contain dots', async () => {
    for (const p of ['a.ts', 'src/core/plan.ts', '.github/workflows/ci.yml', './src/a.ts', '..foo/bar', 'foo../bar', 'a/b..c']) {
      expect(relativePathProblem(p), p).toBeNull();
    }
  });

  it('relativePathProblem explains each rejected path', async () => {
    expect(relativePathProblem('')).toBe('is empty');
    expect(relativePathProblem(' \t')).toBe('is empty');
    expect(relativePathProblem('a\0b')).toBe('contains a NUL byte');
    expect(relativePathProblem('/abs')).toBe('is absolute; use a path relative to the workspace root');
    expect(relativePathProblem('\\abs')).toBe('is absolute; use a path relative to the workspace root');
    expect(relativePathProblem('D:/file')).toBe('is absolute; use a path relative to the workspace root');
    expect(relativePathProblem('D:file')).toBeNull(); // a legal POSIX file name, not a drive path
    expect(relativePathProblem('..')).toBe('contains ".."; paths must stay inside the workspace root');
    expect(relativePathProblem('a/..')).toBe('contains ".."; paths must stay inside the workspace root');
    expect(relativePathProblem('../a')).toBe('contains ".."; paths must stay inside the workspace root');
  });
});

describe('findCycle', () => {
  it('findCycle returns null for an acyclic graph, including a diamond', async () => {
    expect(findCycle([])).toBeNull();
    expect(
      findCycle([
        { id: 'a', depends_on: [] },
        { id: 'b', depends_on: ['a'] },
        { id: 'c', depends_on: ['a'] },
        { id: 'd', depends_on: ['b', 'c'] },
      ]),
    ).toBeNull();
  });

  it('findCycle returns the cycle with its first node repeated at the end', async () => {
    expect(
      findCycle([
        { id: 'a', depends_on: ['b'] },
        { id: 'b', depends_on: ['c'] },
        { id: 'c', depends_on: ['a'] },
      ]),
    ).toEqual(['a', 'b', 'c', 'a']);
  });

  it('findCycle finds a cycle in a later component after an acyclic one', async () => {
    expect(
      findCycle([
        { id: 'x', depends_on: [] },
        { id: 'y', depends_on: ['x'] },
        { id: 'p', depends_on: ['q'] },
        { id: 'q', depends_on: ['p'] },
      ]),
    ).toEqual(['p', 'q', 'p']);
  });

  it('findCycle ignores unknown ids and self loops', async () => {
    expect(
      findCycle([
        { id: 'a', depends_on: ['ghost', 'a'] },
        { id: 'b', depends_on: ['a', 'phantom'] },
      ]),
    ).toBeNull();
    expect(
      findCycle([
        { id: 'a', depends_on: ['ghost', 'b'] },
        { id: 'b', depends_on: ['phantom', 'a'] },
      ]),
    ).toEqual(['a', 'b', 'a']);
  });
});

describe('dependencies and readiness', () => {
  it('isDone counts completed and approved only', async () => {
    expect(['pending', 'running', 'completed', 'approved', 'failed', 'needs_human'].filter((s) => isDone(s as never))).toEqual([
      'completed',
      'approved',
    ]);
  });

  it('missingDependencies lists the dependencies that are not completed or approved, in the order the plan lists them', async () => {
    const all = [
      subtask('a', 'completed'),
      subtask('b', 'approved'),
      subtask('c', 'running'),
      subtask('d', 'failed'),
      subtask('e', 'needs_human'),
      subtask('f', 'pending'),
    ];
    const target = subtask('t', 'pending', { depends_on: ['f', 'a', 'e', 'b', 'd', 'c'] });
    expect(missingDependencies(target, all)).toEqual(['f', 'e', 'd', 'c']);
  });

  it('missingDependencies treats an unknown dependency as missing', async () => {
    expect(missingDependencies(subtask('t', 'pending', { depends_on: ['ghost'] }), [subtask('a', 'completed')])).toEqual(['ghost']);
  });

  it('readySubtasks returns pending subtasks whose dependencies are completed or approved, in plan order', async () => {
    const all = [
      subtask('s1', 'approved'),
      subtask('s2', 'completed'),
      subtask('s3', 'pending', { depends_on: ['s2', 's1'] }),
      subtask('s4', 'pending'),
      subtask('s5', 'running'),
      subtask('s6', 'pending', { depends_on: ['s5'] }),
      subtask('s7', 'failed'),
      subtask('s8', 'pending', { depends_on: ['s7'] }),
      subtask('s9', 'needs_human'),
      subtask('s10', 'pending', { depends_on: ['s9'] }),
      subtask('s11', 'pending', { depends_on: ['s4'] }),
      subtask('s12', 'pending', { depends_on: ['s1'] }),
    ];
    expect(readySubtasks(all).map((s) => s.id)).toEqual(['s3', 's4', 's12']);
  });

  it('readySubtasks never returns a subtask that is not pending, even without dependencies', async () => {
    const all = (['running', 'completed', 'approved', 'failed', 'needs_human'] as const).map((st, i) => subtask(`s${i}`, st));
    expect(readySubtasks(all)).toEqual([]);
  });
});

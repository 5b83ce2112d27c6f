import { describe, expect, it } from 'vitest';
import { normalizeRelativePath, validatePlan } from '../../src/core/plan.js';
import { planned } from './builders.js';

describe('normalizeRelativePath', () => {
  it.each([
    ['src/util.ts', 'src/util.ts'],
    ['./src/util.ts', 'src/util.ts'],
    ['src//util.ts', 'src/util.ts'],
    ['src/./util.ts', 'src/util.ts'],
    ['././src///util.ts', 'src/util.ts'],
    ['src/lib/', 'src/lib'],
    ['src\\util.ts', 'src/util.ts'],
    ['.env', '.env'],
    ['a..b/c', 'a..b/c'],
  ])('%s -> %s', (path, normal) => {
    expect(normalizeRelativePath(path)).toBe(normal);
  });

  it('leaves a path it must refuse as it is, for the reader to refuse by its own name', () => {
    expect(normalizeRelativePath('../secret')).toBe('../secret');
    expect(normalizeRelativePath('a/../../b')).toBe('a/../../b');
    expect(normalizeRelativePath('/etc/passwd')).toBe('/etc/passwd');
  });
});

describe('validatePlan and equivalent paths', () => {
  it('accepts spellings of one file (they are the same file once normalised)', () => {
    expect(validatePlan({ subtasks: [planned('s1', [], { relevant_files: ['./src/util.ts', 'src//util.ts', 'src/util.ts'] })], coordination_notes: '' })).toEqual([]);
  });

  it('refuses a path that names the workspace root itself', () => {
    const problems = validatePlan({ subtasks: [planned('s1', [], { relevant_files: ['./'] })], coordination_notes: '' });
    expect(problems.join(' ')).toMatch(/relevant file '\.\/'.*workspace root/);
  });
});

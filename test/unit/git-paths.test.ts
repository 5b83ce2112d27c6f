import { describe, expect, it } from 'vitest';
import { editRefusal } from '../../src/core/changes.js';
import { EDIT_PATH_LIMITS, gitFolderSegment, isGitFolderName, pathTooLong } from '../../src/core/git-paths.js';
import { validatePlan } from '../../src/core/plan.js';
import { withoutControls } from '../../src/core/text.js';
import { planned } from './builders.js';

describe('names git reads as its own .git folder', () => {
  it('are .git in any case, with trailing dots or spaces, an NTFS stream or short name, or HFS-ignored code points', () => {
    for (const name of ['.git', '.GIT', '.Git', '.git.', '.git ', '.git. .', 'git~1', 'GIT~1', '.git::$INDEX_ALLOCATION', '.git:stream', '.g\u200cit', '\ufeff.git', '.gi\u200dt.']) {
      expect(isGitFolderName(name), JSON.stringify(name)).toBe(true);
    }
  });

  it('leave alone names that only look alike', () => {
    for (const name of ['.github', '.gitignore', '.gitmodules', '.gitattributes', 'x.git', 'git', '.git-x', '.gitx', 'git~2', 'agit~1', '..git', '.g.it']) {
      expect(isGitFolderName(name), JSON.stringify(name)).toBe(false);
    }
  });

  it('are found in any segment of a path', () => {
    expect(gitFolderSegment('src/.Git./config')).toBe('.Git.');
    expect(gitFolderSegment('docs/GIT~1/hooks/pre-commit')).toBe('GIT~1');
    expect(gitFolderSegment('src/.github/workflows/ci.yml')).toBeNull();
  });

  it('make an edit refused before the writes are looked at, and a plan write refused', () => {
    expect(editRefusal('.git./config', ['.git./'])).toBe("it is inside '.git.', a name git reads as its own .git folder and refuses to commit");
    expect(editRefusal('a/git~1/HEAD', ['a/'])).toMatch(/inside 'git~1'/);
    expect(editRefusal('.GIT/config', ['.GIT/'])).toBe('it is inside .git');
    // A code point a terminal would not show is spelled out.
    expect(editRefusal('.g\u200cit/x', ['.g\u200cit/'])).toContain("'.g\\u200cit'");
    expect(editRefusal('.github/x.yml', ['.github/'])).toBeNull();
    expect(validatePlan({ subtasks: [planned('s1', [], { writes: ['.git ./hooks'] })], coordination_notes: '' })).toEqual([
      "Subtask 's1': write path '.git ./hooks' is inside .git (or a name git reads as .git).",
    ]);
  });
});

describe('path limits of an edit', () => {
  it('take 1,024 bytes of UTF-8 and 32 segments, and name the limits beyond', () => {
    expect(EDIT_PATH_LIMITS).toEqual({ maxBytes: 1024, maxSegments: 32 });
    const segments = (n: number) => Array.from({ length: n }, () => 'd').join('/');
    expect(pathTooLong(segments(32))).toBeNull();
    expect(pathTooLong(segments(33))).toBe('the path is 65 bytes long with 33 segments; a path may have at most 1,024 bytes and 32 segments');
    // Bytes, not characters: 512 two-byte characters fit, one more does not.
    expect(pathTooLong('é'.repeat(512))).toBeNull();
    expect(pathTooLong('é'.repeat(513))).toBe('the path is 1,026 bytes long with 1 segments; a path may have at most 1,024 bytes and 32 segments');
    expect(editRefusal(`src/${'é'.repeat(511)}`, ['src/'])).toMatch(/1,026 bytes/);
    expect(editRefusal(`src/${'é'.repeat(510)}`, ['src/'])).toBeNull();
  });
});

describe('withoutControls', () => {
  it('removes escape sequences whole and other control characters, keeping line feeds, tabs and text', () => {
    expect(withoutControls('Fix \x1b[31mred\x1b[0m add()\x1b]0;title\x07 now\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\\x1bc\r\nnext\tline\x00\x7f\x9b2J é 日本')).toBe('Fix red add() nowlink\nnext\tline é 日本');
    expect(withoutControls('plain\ntext')).toBe('plain\ntext');
  });
});

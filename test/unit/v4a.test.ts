// The strict V4A applier, on fixtures written from the format's public description (the apply_patch
// grammar: *** Begin Patch / Add File / Update File / Move to / Delete File / @@ / End of File).
import { describe, expect, it } from 'vitest';
import { PatchError, V4A_LIMITS, applyUpdate, createContent, parsePatch } from '../../src/core/patch/v4a.js';

const lines = (...ls: string[]): string => `${ls.join('\n')}\n`;

function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PatchError) return err;
    throw err;
  }
  throw new Error('expected a PatchError, but nothing was thrown');
}

describe('parsePatch', () => {
  it('reads add, update with a move, and delete operations from one envelope, in order', () => {
    const ops = parsePatch(
      lines(
        '*** Begin Patch',
        '*** Add File: docs/hello.txt',
        '+Hello world',
        '+',
        '+Second paragraph',
        '*** Update File: src/app.py',
        '*** Move to: src/main.py',
        '@@ def greet():',
        '-    print("Hi")',
        '+    print("Hello, world!")',
        '*** Delete File: obsolete.txt',
        '*** End Patch',
      ),
    );
    expect(ops).toEqual([
      { type: 'create_file', path: 'docs/hello.txt', diff: '+Hello world\n+\n+Second paragraph\n' },
      { type: 'update_file', path: 'src/app.py', moveTo: 'src/main.py', diff: '@@ def greet():\n-    print("Hi")\n+    print("Hello, world!")\n' },
      { type: 'delete_file', path: 'obsolete.txt', diff: '' },
    ]);
    expect(createContent(ops[0]!.diff)).toBe('Hello world\n\nSecond paragraph\n');
  });

  it('finds the patch inside a ``` fence surrounded by prose', () => {
    const answer = [
      'I renamed the helper and updated its caller.',
      '',
      '```diff',
      '*** Begin Patch',
      '*** Update File: lib/util.ts',
      '@@ export function sum(a: number, b: number) {',
      '-  return a+b;',
      '+  return a + b;',
      '*** End Patch',
      '```',
      '',
      'Let me know if you need anything else.',
    ].join('\n');
    expect(parsePatch(answer)).toEqual([{ type: 'update_file', path: 'lib/util.ts', diff: '@@ export function sum(a: number, b: number) {\n-  return a+b;\n+  return a + b;\n' }]);
  });

  it('removes the indentation of a patch whose fence is indented, keeping the context lines\' own leading space', () => {
    const answer = ['1. Apply this:', '   ```', '   *** Begin Patch', '   *** Update File: a.txt', '   @@', '    keep', '   -old', '   +new', '   *** End Patch', '   ```'].join('\n');
    expect(parsePatch(answer)).toEqual([{ type: 'update_file', path: 'a.txt', diff: '@@\n keep\n-old\n+new\n' }]);
  });

  it('accepts CRLF answer text and padded markers', () => {
    const ops = parsePatch(['*** Begin Patch  ', '*** Delete File: old.txt', ' *** End Patch', ''].join('\r\n'));
    expect(ops).toEqual([{ type: 'delete_file', path: 'old.txt', diff: '' }]);
  });

  it('collects the operations of several envelopes in one answer', () => {
    const answer = ['First:', '*** Begin Patch', '*** Add File: a.txt', '+a', '*** End Patch', 'Then:', '*** Begin Patch', '*** Delete File: b.txt', '*** End Patch'].join('\n');
    expect(parsePatch(answer).map((o) => [o.type, o.path])).toEqual([
      ['create_file', 'a.txt'],
      ['delete_file', 'b.txt'],
    ]);
  });

  it('returns no operations for an answer without a patch', () => {
    expect(parsePatch('The function already handles empty input; no change is needed.')).toEqual([]);
    expect(parsePatch('*** Begin Patch\n*** End Patch\n')).toEqual([]);
  });

  it('reads an update that only moves a file as a rename with an empty diff', () => {
    expect(parsePatch(lines('*** Begin Patch', '*** Update File: a/old.ts', '*** Move to: b/new.ts', '*** End Patch'))).toEqual([
      { type: 'update_file', path: 'a/old.ts', diff: '', moveTo: 'b/new.ts' },
    ]);
  });

  it('refuses a patch cut off before *** End Patch, saying it is incomplete', () => {
    const err = patchError(() => parsePatch(lines('Here it is:', '*** Begin Patch', '*** Add File: a.txt', '+partial')));
    expect(err.code).toBe('malformed');
    expect(err.message).toContain("has no '*** End Patch' line");
    expect(err.message).toContain('line 2');
  });

  it('refuses file headers outside an envelope', () => {
    const err = patchError(() => parsePatch(lines('*** Update File: a.txt', '@@', '-x', '+y')));
    expect(err.code).toBe('malformed');
    expect(err.message).toContain("Wrap the operations in a line '*** Begin Patch'");
  });

  it('refuses an unknown header, naming the answer line', () => {
    const err = patchError(() => parsePatch(lines('*** Begin Patch', '*** Rename File: a.txt', '*** End Patch')));
    expect(err.message).toMatch(/^Line 2 of the answer, '\*\*\* Rename File: a\.txt', should start a file operation/);
  });

  it('refuses an added file whose line lacks the + prefix, naming the file', () => {
    const err = patchError(() => parsePatch(lines('*** Begin Patch', '*** Add File: src/new.ts', '+export const a = 1;', 'export const b = 2;', '*** End Patch')));
    expect(err.path).toBe('src/new.ts');
    expect(err.message).toMatch(/^In '\*\*\* Add File: src\/new\.ts': Line 2 of the new file's diff, 'export const b = 2;', does not start with '\+'/);
  });

  it('refuses an update without hunks, a delete with a body, and a header without a path', () => {
    expect(patchError(() => parsePatch(lines('*** Begin Patch', '*** Update File: a.txt', '*** End Patch'))).message).toContain('has no hunks');
    expect(patchError(() => parsePatch(lines('*** Begin Patch', '*** Delete File: a.txt', '-gone', '*** End Patch'))).message).toContain('nothing may follow a delete');
    expect(patchError(() => parsePatch(lines('*** Begin Patch', '*** Add File:   ', '+x', '*** End Patch'))).message).toContain('names no path');
  });

  it('checks update hunks while parsing, so a unified-diff header is refused with the file named', () => {
    const err = patchError(() => parsePatch(lines('*** Begin Patch', '*** Update File: src/a.ts', '@@ -1,3 +1,3 @@', '-a', '+b', '*** End Patch')));
    expect(err.path).toBe('src/a.ts');
    expect(err.hunk).toBe(1);
    expect(err.message).toContain('V4A hunks have no line numbers');
  });

  it('refuses a patch over the size bound before reading it', () => {
    const huge = `*** Begin Patch\n*** Add File: big.txt\n${'+x'.repeat(V4A_LIMITS.maxPatchBytes / 2 + 1)}\n*** End Patch\n`;
    expect(patchError(() => parsePatch(huge)).code).toBe('too_large');
  });
});

describe('createContent', () => {
  it('turns + lines into a file that ends with a newline; a lone + is an empty line', () => {
    expect(createContent('+line 1\n+\n+line 3\n')).toBe('line 1\n\nline 3\n');
    expect(createContent('+no final break in the diff')).toBe('no final break in the diff\n');
    expect(createContent('')).toBe('');
  });

  it('ignores one leading bare @@ line and refuses any line without +', () => {
    expect(createContent('@@\n+x\n')).toBe('x\n');
    const err = patchError(() => createContent('+a\n b\n'));
    expect(err.code).toBe('malformed');
    expect(err.message).toContain("Line 2 of the new file's diff, ' b', does not start with '+'");
  });

  it('refuses a diff of more than 10,000 lines', () => {
    const err = patchError(() => createContent('+x\n'.repeat(V4A_LIMITS.maxDiffLines + 1)));
    expect(err.code).toBe('too_large');
    expect(err.message).toContain(`${V4A_LIMITS.maxDiffLines + 1} lines`);
  });
});

describe('applyUpdate', () => {
  const greet = lines('import sys', '', 'def greet():', '    print("Hi")', '', 'def main():', '    greet()', '    return 0');

  it('replaces the removed lines and keeps the context, under an @@ anchor', () => {
    const out = applyUpdate(greet, lines('@@ def greet():', '-    print("Hi")', '+    print("Hello, world!")', ' ', ' def main():'));
    expect(out).toBe(lines('import sys', '', 'def greet():', '    print("Hello, world!")', '', 'def main():', '    greet()', '    return 0'));
  });

  it('applies several hunks in order, with a first hunk that has no @@ line', () => {
    const diff = lines(' import sys', '+import os', '@@ def main():', '-    greet()', '+    greet()', '+    print(os.getcwd())', '     return 0');
    expect(applyUpdate(greet, diff)).toBe(lines('import sys', 'import os', '', 'def greet():', '    print("Hi")', '', 'def main():', '    greet()', '    print(os.getcwd())', '    return 0'));
  });

  it('uses stacked @@ anchors to pick a method among identical ones', () => {
    const src = lines('class BaseClass:', '    def search(self):', '        pass', '', 'class Subclass(BaseClass):', '    def search(self):', '        pass');
    const out = applyUpdate(src, lines('@@ class Subclass(BaseClass):', '@@     def search(self):', '-        pass', '+        raise NotImplementedError()'));
    expect(out).toBe(lines('class BaseClass:', '    def search(self):', '        pass', '', 'class Subclass(BaseClass):', '    def search(self):', '        raise NotImplementedError()'));
  });

  it('accepts a hunk that repeats its anchor line as its first context line', () => {
    const out = applyUpdate(greet, lines('@@ def greet():', ' def greet():', '-    print("Hi")', '+    print("Hey")'));
    expect(out).toBe(lines('import sys', '', 'def greet():', '    print("Hey")', '', 'def main():', '    greet()', '    return 0'));
  });

  it('refuses an unanchored hunk that matches in two places, listing them', () => {
    const src = lines('class BaseClass:', '    def search(self):', '        pass', '', 'class Subclass(BaseClass):', '    def search(self):', '        pass');
    const err = patchError(() => applyUpdate(src, lines('@@', '     def search(self):', '-        pass', '+        return []')));
    expect(err.code).toBe('context_ambiguous');
    expect(err.hunk).toBe(1);
    expect(err.message).toContain('matches 2 places in the file (lines 2, 6)');
    expect(err.message).toContain("'@@ <line above>' anchor");
  });

  it('refuses an anchor that names no line of the file and shows the lines that contain it', () => {
    const err = patchError(() => applyUpdate(greet, lines('@@ greet', '-    print("Hi")', '+    print("Hey")')));
    expect(err.code).toBe('anchor_not_found');
    expect(err.message).toContain("The anchor line '@@ greet' of the hunk does not match any line of the file");
    expect(err.message).toContain('3 | def greet():');
  });

  it('names the hunk whose context does not match, what it expected and what the file holds there', () => {
    const diff = lines('@@ def greet():', '-    print("Hi")', '+    print("Hey")', '@@ def main():', '     greet()', '-    return 1', '+    return 2');
    const err = patchError(() => applyUpdate(greet, diff));
    expect(err.code).toBe('context_not_found');
    expect(err.hunk).toBe(2);
    expect(err.message).toMatch(/^Hunk 2 of 2 does not match the file after line 6\./);
    expect(err.message).toContain('  |     return 1');
    expect(err.message).toContain("line 8 there is '    return 0' where the hunk expects '    return 1' (the text differs)");
    expect(err.message).toContain('8 |     return 0');
    expect(err.message).toContain('Re-read the file');
  });

  it('says when a mismatch is only indentation or only typographic punctuation', () => {
    const indent = patchError(() => applyUpdate(greet, lines('@@ def greet():', '-  print("Hi")', '+  print("Hey")')));
    expect(indent.message).toContain('they differ only in indentation');

    const src = lines('title = “Résumé — draft”', 'done = True');
    const quotes = patchError(() => applyUpdate(src, lines('-title = "Résumé - draft"', '+title = "Résumé — final"', ' done = True')));
    expect(quotes.code).toBe('context_not_found');
    expect(quotes.message).toContain('typographic characters');
  });

  it('applies unicode text that matches exactly', () => {
    const src = lines('title = “Résumé — draft”', 'emoji = "🙂"', 'done = True');
    expect(applyUpdate(src, lines(' title = “Résumé — draft”', '-emoji = "🙂"', '+emoji = "🎉"'))).toBe(lines('title = “Résumé — draft”', 'emoji = "🎉"', 'done = True'));
  });

  it('tolerates trailing whitespace the patch left out and keeps the file\'s own context lines', () => {
    const src = 'a = 1   \nb = 2\t\nc = 3\n';
    expect(applyUpdate(src, lines(' a = 1', '-b = 2', '+b = 20', ' c = 3'))).toBe('a = 1   \nb = 20\nc = 3\n');
  });

  it('keeps CRLF line endings, including on added lines', () => {
    const src = 'one\r\ntwo\r\nthree\r\n';
    expect(applyUpdate(src, lines(' one', '-two', '+TWO', '+two and a half', ' three'))).toBe('one\r\nTWO\r\ntwo and a half\r\nthree\r\n');
    // A diff that itself has CRLF line breaks means the same.
    expect(applyUpdate(src, ' one\r\n-two\r\n+2\r\n')).toBe('one\r\n2\r\nthree\r\n');
  });

  it('preserves a missing final newline, whether the last line changes or lines are appended', () => {
    expect(applyUpdate('a\nb', lines(' a', '-b', '+c'))).toBe('a\nc');
    expect(applyUpdate('a\nb', lines('@@', ' b', '+c', '*** End of File'))).toBe('a\nb\nc');
    expect(applyUpdate('a\nb\n', lines('@@', ' b', '+c', '*** End of File'))).toBe('a\nb\nc\n');
  });

  it('pins an *** End of File hunk to the end of the file', () => {
    const src = lines('x', 'end', 'middle', 'end');
    expect(applyUpdate(src, lines('@@', '-end', '+END', '*** End of File'))).toBe(lines('x', 'end', 'middle', 'END'));
    const err = patchError(() => applyUpdate(lines('end', 'last'), lines('@@', '-end', '+END', '*** End of File')));
    expect(err.code).toBe('not_at_end_of_file');
    expect(err.message).toContain('match at line 1, not at the end of the file');
  });

  it('places + only hunks after their anchor or at the end, and refuses one with neither', () => {
    const src = lines('function a() {', '  return 1;', '}', '');
    expect(applyUpdate(src, lines('@@ function a() {', '+  // first line of a'))).toBe(lines('function a() {', '  // first line of a', '  return 1;', '}', ''));
    expect(applyUpdate(src, lines('@@', '+export { a };', '*** End of File'))).toBe(lines('function a() {', '  return 1;', '}', '', 'export { a };'));
    expect(applyUpdate('', lines('@@', '+first', '+second'))).toBe(lines('first', 'second'));
    const err = patchError(() => applyUpdate(src, lines('@@', '+orphan')));
    expect(err.code).toBe('insertion_without_position');
  });

  it('deletes lines and treats an empty diff line as an empty context line', () => {
    const src = lines('keep', '', 'remove me', 'stay');
    expect(applyUpdate(src, `@@\n keep\n\n-remove me\n stay\n`)).toBe(lines('keep', '', 'stay'));
  });

  it('refuses hunks given out of file order', () => {
    const src = lines('alpha', 'beta', 'gamma', 'delta');
    const err = patchError(() => applyUpdate(src, lines('@@', '-gamma', '+GAMMA', '@@', '-alpha', '+ALPHA')));
    expect(err.code).toBe('out_of_order');
    expect(err.hunk).toBe(2);
    expect(err.message).toContain('matches at line 1');
  });

  it('returns nothing when a later hunk fails, even though an earlier one matched', () => {
    const src = lines('alpha', 'beta', 'gamma');
    const err = patchError(() => applyUpdate(src, lines('@@', '-alpha', '+ALPHA', '@@', '-omega', '+OMEGA')));
    expect(err.hunk).toBe(2);
    expect(err.message).toContain('None of them occurs in the file after line 1.');
  });

  it('refuses malformed diffs with a message that names the problem', () => {
    expect(patchError(() => applyUpdate('a\n', 'a\n+b\n')).message).toContain("does not start with ' ' (context), '-' (removed) or '+' (added)");
    expect(patchError(() => applyUpdate('a\n', '*** Update File: a.txt\n@@\n-a\n+b\n')).message).toContain('is not allowed inside an update diff');
    expect(patchError(() => applyUpdate('a\n', '@@\n-a\n+b\n@@ x\n')).message).toContain('Hunk 2 has no lines');
    expect(patchError(() => applyUpdate('a\n', '@@x\n-a\n')).message).toContain('is not a hunk header');
    expect(patchError(() => applyUpdate('a\n', '@@\n-a\n*** End of File\n+b\n')).message).toContain("'*** End of File' closes the last hunk");
    expect(patchError(() => applyUpdate('a\n', '')).message).toContain('has no hunks');
  });

  it('refuses diffs over the size bounds and binary files', () => {
    expect(patchError(() => applyUpdate('a\n', `@@\n-a\n${'+x\n'.repeat(V4A_LIMITS.maxDiffLines)}`)).code).toBe('too_large');
    expect(patchError(() => applyUpdate('a\n', `@@\n-a\n+${'é'.repeat(V4A_LIMITS.maxDiffBytes / 2)}\n`)).code).toBe('too_large');
    expect(patchError(() => applyUpdate('a\u0000b\n', '@@\n-a\u0000b\n+c\n')).code).toBe('binary');
  });

  it('applies a hunk near the end of a 50,000-line file whose lines repeat', () => {
    const big = Array.from({ length: 50_000 }, (_, i) => `line ${i % 7 === 0 ? 'x' : i}`).join('\n') + '\n';
    const out = applyUpdate(big, lines(' line 49998', '-line 49999', '+the end'));
    expect(out.endsWith('line 49998\nthe end\n')).toBe(true);
    expect(out.split('\n')).toHaveLength(50_001);
  });
});

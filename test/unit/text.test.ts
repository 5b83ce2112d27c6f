import { describe, expect, it } from 'vitest';
import { clip, goalLine, utf8Bytes } from '../../src/core/text.js';

const SMILE = '\u{1F600}'; // two UTF-16 code units: \uD83D\uDE00

describe('clip', () => {
  it('clip returns a short text whole and not truncated', async () => {
    expect(clip('hello', 10)).toEqual({ text: 'hello', truncated: false, start: 0, total: 5 });
    expect(clip('hello', 5)).toEqual({ text: 'hello', truncated: false, start: 0, total: 5 });
    expect(clip('', 5)).toEqual({ text: '', truncated: false, start: 0, total: 0 });
  });

  it('clip cuts at max characters and reports the total length', async () => {
    expect(clip('abcdefghij', 4)).toEqual({ text: 'abcd', truncated: true, start: 0, total: 10 });
  });

  it('clip starts at the offset and marks a page after the first as truncated', async () => {
    expect(clip('abcdefghij', 4, 4)).toEqual({ text: 'efgh', truncated: true, start: 4, total: 10 });
    expect(clip('abcdefghij', 4, 8)).toEqual({ text: 'ij', truncated: true, start: 8, total: 10 });
  });

  it('clip clamps an offset past the end to an empty page and a negative offset to the start', async () => {
    expect(clip('abc', 10, 99)).toEqual({ text: '', truncated: true, start: 3, total: 3 });
    expect(clip('abc', 2, -5)).toEqual({ text: 'ab', truncated: true, start: 0, total: 3 });
  });

  it('clip does not end a page between the two halves of a surrogate pair', async () => {
    const text = `ab${SMILE}cd`; // a b \uD83D \uDE00 c d
    expect(clip(text, 3)).toEqual({ text: 'ab', truncated: true, start: 0, total: 6 });
    expect(clip(text, 4)).toEqual({ text: `ab${SMILE}`, truncated: true, start: 0, total: 6 });
    expect(clip(SMILE + SMILE, 3)).toEqual({ text: SMILE, truncated: true, start: 0, total: 4 });
  });

  it('clip keeps a surrogate pair that ends exactly at the end of the text', async () => {
    expect(clip(`a${SMILE}`, 3)).toEqual({ text: `a${SMILE}`, truncated: false, start: 0, total: 3 });
  });

  it('clip pages through a text of emoji without losing or splitting any character', async () => {
    const text = `${SMILE}x${SMILE}${SMILE}y${SMILE}`;
    const pages: string[] = [];
    let offset = 0;
    while (offset < text.length) {
      const page = clip(text, 3, offset);
      expect(page.text.length).toBeGreaterThan(0);
      pages.push(page.text);
      offset += page.text.length;
    }
    expect(pages).toEqual([`${SMILE}x`, SMILE, `${SMILE}y`, SMILE]);
    expect(pages.join('')).toBe(text);
  });

  // A host can pass any offset to workflow_status, including one inside a surrogate pair.
  it('clip moves an offset inside a surrogate pair back to the start of the pair', async () => {
    expect(clip(`${SMILE}xy`, 10, 1)).toEqual({ text: `${SMILE}xy`, truncated: false, start: 0, total: 4 });
    expect(clip(`a${SMILE}xy`, 3, 2)).toEqual({ text: `${SMILE}x`, truncated: true, start: 1, total: 5 });
  });
});

describe('goalLine', () => {
  it('goalLine keeps only the first line of the request', async () => {
    expect(goalLine('Add a login page\nwith email and password\r\nand tests')).toBe('Add a login page');
    expect(goalLine('First line\r\nsecond')).toBe('First line');
  });

  it('goalLine skips leading blank lines and squeezes runs of whitespace to one space', async () => {
    expect(goalLine('\n\n   Fix   the\t\tparser  bug   \nmore')).toBe('Fix the parser bug');
  });

  it('goalLine leaves a line of exactly max characters alone', async () => {
    const line = 'x'.repeat(160);
    expect(goalLine(line)).toBe(line);
    expect(goalLine('abcde', 5)).toBe('abcde');
  });

  it('goalLine cuts a longer line to max characters ending in an ellipsis', async () => {
    expect(goalLine('abcdefghij', 5)).toBe('abcd…');
    const long = goalLine('y'.repeat(200));
    expect(long).toBe(`${'y'.repeat(159)}…`);
    expect(long).toHaveLength(160);
  });

  it('goalLine does not leave a space before the ellipsis', async () => {
    expect(goalLine('abc defgh', 5)).toBe('abc…');
  });

  // Every executor prompt holds the goal line; a lone surrogate would reach the model as U+FFFD.
  it('goalLine does not split a surrogate pair where it cuts the line', async () => {
    const line = goalLine(`${'a'.repeat(158)}${SMILE}more`);
    expect(line).toBe(`${'a'.repeat(158)}…`);
  });

  it('goalLine of an empty or blank request is empty', async () => {
    expect(goalLine('')).toBe('');
    expect(goalLine(' \n\t\n ')).toBe('');
  });
});

describe('utf8Bytes', () => {
  it('utf8Bytes counts UTF-8 bytes, not characters', async () => {
    expect(utf8Bytes('')).toBe(0);
    expect(utf8Bytes('abc')).toBe(3);
    expect(utf8Bytes('é')).toBe(2);
    expect(utf8Bytes('€')).toBe(3);
    expect(utf8Bytes(SMILE)).toBe(4);
    expect(utf8Bytes(`a€${SMILE}`)).toBe(8);
  });
});

// Small text helpers shared by the prompt builders and the bounded tool results.

/** A page of a text (clip, clipBytes, clipPage); `start` and `total` count characters (UTF-16 code units). */
export interface Clipped {
  text: string;
  truncated: boolean;
  /** Where the text starts in the whole (the requested offset, moved back to a character boundary). */
  start: number;
  /** Length of the whole text, in characters. */
  total: number;
}

/** At most `max` characters of `text` from `offset`; neither end splits a surrogate pair. */
export function clip(text: string, max: number, offset = 0): Clipped {
  let start = Math.min(Math.max(0, offset), text.length);
  if (start > 0 && start < text.length && isLowSurrogate(text.charCodeAt(start))) start -= 1;
  let end = Math.min(text.length, start + max);
  if (end < text.length && end > start && isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  return { text: text.slice(start, end), truncated: start > 0 || end < text.length, start, total: text.length };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Like clip, but the page holds at most `maxBytes` bytes of UTF-8. Tool results are bounded this
 * way: an o200k token is at least one byte, so bytes bound tokens for any script (CJK, base64),
 * where a character count would not.
 */
export function clipBytes(text: string, maxBytes: number, offset = 0): Clipped {
  let start = Math.min(Math.max(0, offset), text.length);
  if (start > 0 && start < text.length && isLowSurrogate(text.charCodeAt(start))) start -= 1;
  let end = start;
  let bytes = 0;
  while (end < text.length) {
    const code = text.codePointAt(end)!;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += code >= 0x10000 ? 2 : 1;
  }
  return { text: text.slice(start, end), truncated: start > 0 || end < text.length, start, total: text.length };
}

/**
 * A page of `text` from `offset` for a tool result: at most `maxBytes` bytes of UTF-8, and at most
 * `maxTokens` tokens (by `count`) as it is sent, JSON-escaped (where a control character takes six
 * bytes). Shrunk until both hold; `count` only runs when the escaped page has more bytes than
 * `maxTokens` (an o200k token is at least a byte).
 */
export function clipPage(text: string, offset: number, maxBytes: number, maxTokens: number, count: (text: string) => number): Clipped {
  let bytes = maxBytes;
  for (;;) {
    const page = clipBytes(text, bytes, offset);
    const json = JSON.stringify(page.text);
    if (page.text.length === 0 || utf8Bytes(json) <= maxTokens) return page;
    const tokens = count(json);
    if (tokens <= maxTokens) return page;
    bytes = Math.min(bytes - 1, Math.floor((utf8Bytes(page.text) * maxTokens * 0.95) / tokens));
  }
}

/** The first line of a request, squeezed to one short line: what every executor is told the work is for. */
export function goalLine(request: string, max = 160): string {
  const firstLine = request.trim().split(/\r?\n/, 1)[0] ?? '';
  const squeezed = firstLine.replace(/\s+/g, ' ').trim();
  return squeezed.length <= max ? squeezed : `${clip(squeezed, max - 1).text.trimEnd()}…`;
}

const encoder = new TextEncoder();

/** Bytes of `text` in UTF-8 (what byte caps and request sizes count). */
export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/**
 * Why a text from the host cannot be sent to a model, or null when it can: it holds a NUL, or a lone
 * UTF-16 surrogate (which would reach the model as U+FFFD); and, when it is `required`, when it has
 * nothing visible at all (only whitespace, format characters such as U+200B, or control characters).
 * `field` names it in the message.
 */
export function textProblem(field: string, text: string, required = true): string | null {
  if (text.includes('\0')) return `${field} contains a NUL character; remove it.`;
  if (/\p{Cs}/u.test(text)) return `${field} contains a lone UTF-16 surrogate (broken Unicode); send valid text.`;
  // Plain whitespace is left to the caller's own "is empty" check, which says what to write.
  if (required && text.trim() && !/[^\p{White_Space}\p{Cf}\p{Cc}]/u.test(text)) return `${field} has nothing visible in it (only whitespace or invisible characters); say in words what is wanted.`;
  return null;
}

/** The known name nearest to `key` (case, '_' and '-' ignored), if it is within a third of its length, else null. */
export function closest(key: string, known: readonly string[]): string | null {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = distance(norm(key), norm(name));
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best !== null && bestDistance <= Math.max(1, Math.floor(Math.max(key.length, best.length) / 3)) ? best : null;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * `text` without terminal control: escape sequences removed whole (CSI `ESC [ ... final`; OSC, DCS,
 * SOS, PM and APC strings up to BEL or ST; other `ESC` sequences with their intermediate bytes; and
 * the same introduced by their 8-bit C1 forms U+009B, U+009D, ...), then every other C0 control but
 * line feed and tab, DEL, and the C1 controls (U+0080-U+009F). For model text that a terminal will
 * print (a commit message shown by `git log`). Source: ECMA-48 (5th ed.), 5.3-5.6, 8.3.
 */
export function withoutControls(text: string): string {
  /* eslint-disable no-control-regex -- matching control characters is the point */
  return text
    .replace(/(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]/g, '')
    .replace(/(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?/g, '')
    .replace(/\x1b[ -/]*[0-~]?/g, '')
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '');
  /* eslint-enable no-control-regex */
}

/** Paths for a message: all of them up to 20, else the first 20 and "and N more" (a result keeps the whole list). */
export function listPaths(paths: readonly string[]): string {
  return paths.length <= 20 ? paths.join(', ') : `${paths.slice(0, 20).join(', ')} and ${paths.length - 20} more`;
}

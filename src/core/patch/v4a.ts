// A strict applier for V4A diffs: the patch language of OpenAI's `apply_patch` tool (Responses API
// `apply_patch_call.operation.diff`) and of the `*** Begin Patch` envelope that models write in plain
// answers. Pure: it works on strings, never on files; the caller reads and writes them.
//
// Format sources: the Responses API types in the openai package (ResponseApplyPatchToolCall,
// node_modules/openai/resources/responses/responses.d.ts), the grammar in openai/codex
// codex-rs/apply-patch/apply_patch_tool_instructions.md and src/parser.rs, and the applyDiff helpers of
// openai/openai-agents-js (packages/agents-core/src/utils/applyDiff.ts) and openai-agents-python
// (src/agents/apply_diff.py). Where those differ, this module picks the reading that cannot place an
// edit somewhere the model did not mean, and says so in the error instead of guessing:
// - Context and removed lines must equal the file's lines; only trailing whitespace (spaces, tabs, a
//   stray CR) may differ. The reference appliers also retry with leading whitespace ignored and with
//   typographic punctuation folded to ASCII; here such a near miss is an error that names the
//   difference, because indentation and quotes are code.
// - A hunk without an `@@ <line>` anchor must match exactly one place after the previous hunk; a hunk
//   with anchors is taken at its first match after the last anchor (that is what anchors are for), or
//   on the anchor line itself when the hunk repeats it as its first context line (the reference
//   appliers refuse that; it is unambiguous, and models write it).
// - A hunk with only `+` lines goes right after its anchor, or at the end of the file under
//   `*** End of File`; without either it is refused (codex appends such a hunk at the end of the file,
//   the agents SDK inserts it at the top: the format does not say, so the model must).
// - The file keeps its line endings (CRLF, LF, or mixed: inserted lines take the majority ending) and
//   whether it ends with a newline; an error leaves nothing half-applied (the result is built only once
//   every hunk has been placed).

/** One file operation, mirroring the Responses API `apply_patch_call.operation`
 *  (`create_file` | `update_file` | `delete_file`, `path`, `diff`). `diff` is '' for `delete_file`.
 *  `moveTo` is the envelope's `*** Move to:` (the API sends it as `operation.move_to` on
 *  `update_file`); an `update_file` with `moveTo` and an empty `diff` is a pure rename. */
export interface PatchOperation {
  type: 'create_file' | 'update_file' | 'delete_file';
  path: string;
  diff: string;
  moveTo?: string;
}

/** Why a patch was refused. Stable values; the message says the specifics. */
export type PatchErrorCode =
  | 'malformed'
  | 'too_large'
  | 'binary'
  | 'anchor_not_found'
  | 'context_not_found'
  | 'context_ambiguous'
  | 'out_of_order'
  | 'not_at_end_of_file'
  | 'insertion_without_position';

/**
 * A refused patch, with a message written for the model that produced it: which hunk (1-based, in
 * the order of the diff), what the patch expected, what the file holds instead, and a short excerpt
 * with line numbers. Not a PlanexecError: it is sent back to the model (an `apply_patch_call_output`
 * with status `failed`), not to the MCP host.
 */
export class PatchError extends Error {
  readonly code: PatchErrorCode;
  /** 1-based hunk number within the update diff, when the error concerns one hunk. */
  readonly hunk: number | null;
  /** The operation's path, when parsePatch knows it. */
  readonly path: string | null;

  constructor(code: PatchErrorCode, message: string, opts: { hunk?: number | null; path?: string | null } = {}) {
    super(message);
    this.name = 'PatchError';
    this.code = code;
    this.hunk = opts.hunk ?? null;
    this.path = opts.path ?? null;
  }
}

/** Bounds on what this module accepts. Bytes are UTF-8. A diff is the text of one operation; a
 *  patch is a whole `*** Begin Patch` envelope (or answer text holding one). */
export const V4A_LIMITS = Object.freeze({
  maxDiffBytes: 1_048_576,
  maxDiffLines: 10_000,
  maxPatchBytes: 4 * 1_048_576,
  maxOperations: 200,
  maxFileBytes: 16 * 1_048_576,
});

// ---------------------------------------------------------------------------------------------
// Update diffs: parsing

type BodyKind = ' ' | '-' | '+';

interface HunkLine {
  kind: BodyKind;
  text: string;
}

interface Hunk {
  /** 1-based, in diff order. */
  n: number;
  /** Texts of the `@@ <text>` lines before the body (bare `@@` lines add none). */
  anchors: string[];
  lines: HunkLine[];
  eof: boolean;
}

const EOF_MARKER = '*** End of File';
// A unified-diff hunk header ("@@ -12,7 +12,8 @@"): models sometimes write one; V4A has no line numbers.
const UNIFIED_HEADER = /^@@ -\d+(,\d+)? \+\d+(,\d+)? @@/;

/** Splits diff text into lines without their CR/LF; one final line break does not make an empty line. */
function diffLines(diff: string): string[] {
  const lines = diff.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function utf8Bytes(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function checkDiffSize(diff: string, what: string): string[] {
  const bytes = utf8Bytes(diff);
  if (bytes > V4A_LIMITS.maxDiffBytes) {
    throw new PatchError('too_large', `The ${what} is ${bytes} bytes; at most ${V4A_LIMITS.maxDiffBytes} are accepted. Split the change into smaller operations.`);
  }
  const lines = diffLines(diff);
  if (lines.length > V4A_LIMITS.maxDiffLines) {
    throw new PatchError('too_large', `The ${what} has ${lines.length} lines; at most ${V4A_LIMITS.maxDiffLines} are accepted. Split the change into smaller operations.`);
  }
  return lines;
}

function quote(s: string, max = 160): string {
  const shown = s.length > max ? `${s.slice(0, max - 1)}…` : s;
  return `'${shown}'`;
}

/** Parses the hunks of an update diff; throws PatchError('malformed') naming the offending line. */
function parseHunks(lines: string[]): Hunk[] {
  const hunks: Hunk[] = [];
  let i = 0;
  while (i < lines.length) {
    const n = hunks.length + 1;
    const anchors: string[] = [];
    while (i < lines.length && lines[i]!.startsWith('@@')) {
      const line = lines[i]!;
      if (UNIFIED_HEADER.test(line)) {
        throw new PatchError(
          'malformed',
          `Hunk ${n} starts with a unified-diff header ${quote(line)}. V4A hunks have no line numbers: start the hunk with '@@' alone, or '@@ ' followed by the exact text of a line just above the change (such as its function or class line).`,
          { hunk: n },
        );
      }
      if (line !== '@@' && !line.startsWith('@@ ')) {
        throw new PatchError('malformed', `Hunk ${n}: ${quote(line)} is not a hunk header. Write '@@' alone or '@@ ' (with a space) followed by a line of the file.`, { hunk: n });
      }
      const text = line.slice(2).trim();
      if (text) anchors.push(text);
      i++;
    }
    // Only the first hunk may omit its '@@' line: later hunks begin where an '@@' line stopped the
    // previous body, and a line after '*** End of File' is refused below.
    const body: HunkLine[] = [];
    let eof = false;
    while (i < lines.length && !lines[i]!.startsWith('@@')) {
      const line = lines[i]!;
      if (line === EOF_MARKER || line.trimEnd() === EOF_MARKER) {
        eof = true;
        i++;
        break;
      }
      if (line.startsWith('***')) {
        throw new PatchError(
          'malformed',
          `Hunk ${n}: ${quote(line)} is not allowed inside an update diff. A diff holds only '@@' hunks of ' ' (context), '-' (removed) and '+' (added) lines, optionally ending with '*** End of File'.`,
          { hunk: n },
        );
      }
      if (line === '') {
        // A blank line stands for an empty context line (models drop the leading space of empty lines).
        body.push({ kind: ' ', text: '' });
      } else {
        const kind = line[0];
        if (kind !== ' ' && kind !== '-' && kind !== '+') {
          throw new PatchError(
            'malformed',
            `Hunk ${n}: the line ${quote(line)} does not start with ' ' (context), '-' (removed) or '+' (added). Context lines keep their leading space.`,
            { hunk: n },
          );
        }
        body.push({ kind, text: line.slice(1) });
      }
      i++;
    }
    if (body.length === 0) {
      throw new PatchError('malformed', `Hunk ${n} has no lines after its '@@' header. Give the context, '-' and '+' lines of the change.`, { hunk: n });
    }
    hunks.push({ n, anchors, lines: body, eof });
    if (eof && i < lines.length && !lines[i]!.startsWith('@@')) {
      throw new PatchError('malformed', `Hunk ${n} ends with '*** End of File', but ${quote(lines[i]!)} follows it. '*** End of File' closes the last hunk of the file.`, { hunk: n });
    }
  }
  if (hunks.length === 0) throw new PatchError('malformed', 'The update diff has no hunks. Give at least one hunk of context, \'-\' and \'+\' lines.');
  return hunks;
}

// ---------------------------------------------------------------------------------------------
// Files as lines

interface FileLine {
  text: string;
  /** '\n', '\r\n', or '' for a last line without a line break. */
  eol: string;
}

function splitFile(text: string): FileLine[] {
  const out: FileLine[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) {
      out.push({ text: text.slice(start), eol: '' });
      break;
    }
    const cr = nl > start && text.charCodeAt(nl - 1) === 13;
    out.push({ text: text.slice(start, cr ? nl - 1 : nl), eol: cr ? '\r\n' : '\n' });
    start = nl + 1;
  }
  return out;
}

/** The ending new lines get: the majority of the file's line breaks (LF on a tie or with none). */
function dominantEol(lines: FileLine[]): string {
  let crlf = 0;
  let lf = 0;
  for (const l of lines) {
    if (l.eol === '\r\n') crlf++;
    else if (l.eol === '\n') lf++;
  }
  return crlf > lf ? '\r\n' : '\n';
}

/** Lines compare equal when they differ at most in trailing whitespace. */
function norm(s: string): string {
  return s.trimEnd();
}

/** Every start index in [from, to) where `pattern` occurs in `text` (KMP over interned lines: linear). */
function findAll(text: number[], pattern: number[], from: number, to: number): number[] {
  const m = pattern.length;
  const found: number[] = [];
  if (m === 0) return found;
  const fail = new Array<number>(m).fill(0);
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && pattern[i] !== pattern[k]) k = fail[k - 1]!;
    if (pattern[i] === pattern[k]) k++;
    fail[i] = k;
  }
  for (let i = from, k = 0; i < text.length; i++) {
    while (k > 0 && text[i] !== pattern[k]) k = fail[k - 1]!;
    if (text[i] === pattern[k]) k++;
    if (k === m) {
      const start = i - m + 1;
      if (start < to) found.push(start);
      k = fail[k - 1]!;
    }
  }
  return found;
}

// Typographic characters the reference appliers fold to ASCII when matching (codex seek_sequence.rs).
// Used only to explain a mismatch, never to accept one.
const PUNCTUATION_FOLD: Record<string, string> = {
  '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-',
  '\u2018': "'", '\u2019': "'", '\u201A': "'", '\u201B': "'",
  '\u201C': '"', '\u201D': '"', '\u201E': '"', '\u201F': '"',
  '\u00A0': ' ', '\u2002': ' ', '\u2003': ' ', '\u2004': ' ', '\u2005': ' ', '\u2006': ' ', '\u2007': ' ',
  '\u2008': ' ', '\u2009': ' ', '\u200A': ' ', '\u202F': ' ', '\u205F': ' ', '\u3000': ' ',
};

function foldPunctuation(s: string): string {
  let out = '';
  for (const ch of s) out += PUNCTUATION_FOLD[ch] ?? ch;
  return out;
}

/** Why two lines that should be equal are not, in words a model can act on. */
function describeDifference(expected: string, actual: string): string {
  if (expected.trim() === actual.trim()) {
    return "they differ only in indentation; copy the file's leading spaces or tabs exactly";
  }
  if (foldPunctuation(expected).trim() === foldPunctuation(actual).trim()) {
    return 'they differ only in typographic characters such as dashes, curly quotes or special spaces; copy them exactly as in the file';
  }
  return 'the text differs';
}

interface Region {
  start: number;
  count: number;
}

/** Numbered lines of the file, at most `max` of them, for error messages. */
function excerpt(file: FileLine[], region: Region, max = 12): string {
  const from = Math.max(0, region.start);
  const to = Math.min(file.length, region.start + region.count, from + max);
  const width = String(to).length;
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    const t = file[i]!.text;
    out.push(`${String(i + 1).padStart(width)} | ${t.length > 200 ? `${t.slice(0, 199)}…` : t}`);
  }
  if (to < Math.min(file.length, region.start + region.count)) out.push(`${' '.repeat(width)} | …`);
  return out.join('\n');
}

function patternBlock(lines: string[], max = 12): string {
  const shown = lines.slice(0, max).map((l) => `  | ${l.length > 200 ? `${l.slice(0, 199)}…` : l}`);
  if (lines.length > max) shown.push('  | …');
  return shown.join('\n');
}

/** A line's text with whitespace at both ends and typographic punctuation folded: used only to find
 *  where a mismatching hunk was probably meant to go. */
function looseKey(s: string): string {
  return foldPunctuation(s).trim();
}

/**
 * The offset in [from, fileLength) where most lines of `pattern` line up with the file, comparing
 * loosely (looseKey) and voting from each pattern line's occurrences; lines that occur very often,
 * such as '}', do not vote. Returns null when no pattern line occurs in the range at all.
 */
function closestOffset(pattern: string[], from: number, fileLength: number, occurrences: Map<string, number[]>): number | null {
  const votes = new Map<number, number>();
  for (const [i, line] of pattern.entries()) {
    const at = occurrences.get(looseKey(line));
    if (!at || at.length > 64) continue;
    for (const p of at) {
      const offset = p - i;
      if (offset < from || offset >= fileLength) continue;
      votes.set(offset, (votes.get(offset) ?? 0) + 1);
    }
  }
  let best: number | null = null;
  let bestVotes = 0;
  for (const [offset, v] of votes) {
    if (v > bestVotes || (v === bestVotes && best !== null && offset < best)) {
      best = offset;
      bestVotes = v;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Update diffs: applying

interface Replacement {
  start: number;
  removeCount: number;
  hunk: Hunk;
}

/**
 * Applies a V4A update diff (the `diff` of an `update_file` operation: `@@` hunks only, no
 * `*** Update File:` header) to the text of a file and returns the new text.
 *
 * Rules (see the top of this file for the sources): hunks apply in order, each after the previous;
 * `@@ <text>` anchors move the search past the first following line whose trimmed text equals <text>
 * (several stacked anchors narrow step by step); context and '-' lines must equal the file's lines up
 * to trailing whitespace; an unanchored hunk must match exactly one place; `*** End of File` pins the
 * hunk to the end of the file. Kept lines stay byte for byte (including their trailing whitespace and
 * line ending); added lines take the file's majority line ending; whether the file ends with a line
 * break is preserved (an empty original counts as ending with one).
 *
 * @throws PatchError with code malformed | too_large | binary | anchor_not_found | context_not_found |
 *   context_ambiguous | out_of_order | not_at_end_of_file | insertion_without_position. Nothing is
 *   returned unless every hunk applied.
 */
export function applyUpdate(original: string, diff: string): string {
  const hunks = parseHunks(checkDiffSize(diff, 'update diff'));
  if (utf8Bytes(original) > V4A_LIMITS.maxFileBytes) {
    throw new PatchError('too_large', `The file is larger than ${V4A_LIMITS.maxFileBytes} bytes; it cannot be patched this way.`);
  }
  if (original.includes('\u0000')) {
    throw new PatchError('binary', 'The file holds NUL bytes (a binary file); V4A diffs apply only to text files.');
  }

  const file = splitFile(original);
  const endsWithNewline = file.length === 0 || file[file.length - 1]!.eol !== '';
  const eol = dominantEol(file);

  // Lines are interned to numbers (by their trailing-whitespace-free text) so searches compare ints.
  const ids = new Map<string, number>();
  const intern = (s: string): number => {
    const k = norm(s);
    let id = ids.get(k);
    if (id === undefined) {
      id = ids.size;
      ids.set(k, id);
    }
    return id;
  };
  const keys = file.map((l) => intern(l.text));
  // Built only for an error message: where each (loosely compared) line of the file occurs.
  let occurrences: Map<string, number[]> | null = null;
  const occurrencesOf = (): Map<string, number[]> => {
    if (occurrences) return occurrences;
    occurrences = new Map();
    for (const [i, l] of file.entries()) {
      const k = looseKey(l.text);
      const list = occurrences.get(k);
      if (list) list.push(i);
      else occurrences.set(k, [i]);
    }
    return occurrences;
  };

  const replacements: Replacement[] = [];
  let cursor = 0;
  for (const hunk of hunks) {
    const label = hunks.length > 1 ? `Hunk ${hunk.n} of ${hunks.length}` : 'The hunk';
    // Anchors: each moves the cursor past the first following line with that (trimmed) text.
    for (const anchor of hunk.anchors) {
      let found = -1;
      for (let i = cursor; i < file.length; i++) {
        if (file[i]!.text.trim() === anchor) {
          found = i;
          break;
        }
      }
      if (found === -1) {
        const similar: number[] = [];
        for (let i = cursor; i < file.length && similar.length < 3; i++) {
          if (file[i]!.text.includes(anchor)) similar.push(i);
        }
        const earlier = file.findIndex((l, i) => i < cursor && l.text.trim() === anchor);
        const ofHunk = hunks.length > 1 ? `of hunk ${hunk.n} of ${hunks.length}` : 'of the hunk';
        let msg = `The anchor line '@@ ${anchor}' ${ofHunk} does not match any line of the file${cursor > 0 ? ` after line ${cursor}` : ''}. An anchor must repeat one whole line of the file (leading and trailing whitespace aside).`;
        if (earlier !== -1) msg += ` That line occurs at line ${earlier + 1}, above where the search starts (after the previous hunk or anchor): hunks and stacked anchors must follow the order of the file.`;
        if (similar.length > 0) msg += ` Lines that contain it:\n${similar.map((i) => excerpt(file, { start: i, count: 1 })).join('\n')}`;
        throw new PatchError(earlier !== -1 ? 'out_of_order' : 'anchor_not_found', msg, { hunk: hunk.n });
      }
      cursor = found + 1;
    }

    const oldTexts = hunk.lines.filter((l) => l.kind !== '+').map((l) => l.text);
    const anchored = hunk.anchors.length > 0;
    if (oldTexts.length === 0) {
      // Only '+' lines: the position must come from the anchor or the end-of-file marker.
      let at: number;
      if (hunk.eof) at = file.length;
      else if (anchored) at = cursor;
      else if (file.length === 0) at = 0;
      else {
        throw new PatchError(
          'insertion_without_position',
          `${label} has only '+' lines, so it does not say where they go. Add the unchanged line(s) just above or below as context (' ' lines), or an '@@ <line above>' anchor, or end the hunk with '*** End of File' to append at the end.`,
          { hunk: hunk.n },
        );
      }
      replacements.push({ start: at, removeCount: 0, hunk });
      cursor = at;
      continue;
    }

    const pattern = oldTexts.map(intern);
    // An anchored hunk may repeat its anchor as its first context line: then it starts on that line.
    const matches = findAll(keys, pattern, anchored ? cursor - 1 : cursor, file.length);
    let start: number;
    if (hunk.eof) {
      const atEnd = file.length - pattern.length;
      if (matches.includes(atEnd)) start = atEnd;
      else if (matches.length > 0) {
        throw new PatchError(
          'not_at_end_of_file',
          `${label} ends with '*** End of File', but its lines match at line ${matches[0]! + 1}, not at the end of the file (which has ${file.length} lines). Remove the marker or make the hunk reach the last line. The end of the file:\n${excerpt(file, { start: Math.max(0, file.length - 5), count: 5 })}`,
          { hunk: hunk.n },
        );
      } else start = -1;
    } else if (matches.length === 1 || (anchored && matches.length > 1)) {
      start = matches[0]!;
    } else if (matches.length > 1) {
      const where = matches.slice(0, 5).map((m) => m + 1).join(', ');
      throw new PatchError(
        'context_ambiguous',
        `${label} matches ${matches.length} places in the file (lines ${where}${matches.length > 5 ? ', …' : ''}), so it is not clear which one to change. Add context lines that differ between them, or an '@@ <line above>' anchor naming the enclosing function or class.`,
        { hunk: hunk.n },
      );
    } else start = -1;

    if (start === -1) {
      const before = cursor > 0 ? findAll(keys, pattern, 0, cursor) : [];
      if (before.length > 0) {
        const why = anchored ? 'the hunk\'s anchor' : 'the previous hunk';
        throw new PatchError(
          'out_of_order',
          `${label} matches at line ${before[0]! + 1}, but the search starts after ${why} (line ${cursor}). Hunks must follow the order of the file, and an anchor must be above its change.`,
          { hunk: hunk.n },
        );
      }
      const offset = closestOffset(oldTexts, cursor, file.length, occurrencesOf());
      let msg = `${label} does not match the file${cursor > 0 ? ` after line ${cursor}` : ''}. It expects these lines (its context and '-' lines, in order):\n${patternBlock(oldTexts)}`;
      if (offset === null) {
        msg += `\nNone of them occurs in the file${cursor > 0 ? ` after line ${cursor}` : ''}.`;
      } else {
        let firstDiff = -1;
        for (let i = 0; i < pattern.length; i++) {
          if (offset + i >= file.length || keys[offset + i] !== pattern[i]) {
            firstDiff = i;
            break;
          }
        }
        if (firstDiff !== -1 && offset + firstDiff < file.length) {
          const exp = oldTexts[firstDiff]!;
          const act = file[offset + firstDiff]!.text;
          msg += `\nThe closest place is at line ${offset + 1}; line ${offset + firstDiff + 1} there is ${quote(act)} where the hunk expects ${quote(exp)} (${describeDifference(exp, act)}).`;
        } else if (firstDiff !== -1) {
          msg += `\nThe closest place is at line ${offset + 1}, but the file ends after ${file.length - offset} of the hunk's ${pattern.length} lines.`;
        }
        msg += `\nThe file there:\n${excerpt(file, { start: Math.max(0, offset - 1), count: pattern.length + 2 })}`;
      }
      msg += '\nRe-read the file and send the hunk again with its current text.';
      throw new PatchError('context_not_found', msg, { hunk: hunk.n });
    }
    replacements.push({ start, removeCount: pattern.length, hunk });
    cursor = start + pattern.length;
  }

  // Build the result only now that every hunk has a place.
  const out: FileLine[] = [];
  let pos = 0;
  for (const r of replacements) {
    for (; pos < r.start; pos++) out.push(file[pos]!);
    let j = r.start;
    for (const line of r.hunk.lines) {
      if (line.kind === '+') out.push({ text: line.text, eol });
      else {
        if (line.kind === ' ') out.push(file[j]!);
        j++;
      }
    }
    pos = r.start + r.removeCount;
  }
  for (; pos < file.length; pos++) out.push(file[pos]!);

  let result = '';
  for (const [i, l] of out.entries()) {
    const last = i === out.length - 1;
    if (!last) result += l.text + (l.eol || eol);
    else result += l.text + (endsWithNewline ? l.eol || eol : '');
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Create diffs

/**
 * The content of a new file from a `create_file` diff: every line starts with '+', and each '+'
 * line is one line of the file, ending with '\n' (as codex's `*** Add File:` does; a blank line is a
 * lone '+'). A single leading bare '@@' line is ignored (some models head every diff with one). An
 * empty diff makes an empty file. New files get LF line endings.
 *
 * @throws PatchError('malformed') for a line without '+', PatchError('too_large') past V4A_LIMITS.
 */
export function createContent(diff: string): string {
  const lines = checkDiffSize(diff, 'create diff');
  const body = lines[0] === '@@' ? lines.slice(1) : lines;
  const out: string[] = [];
  for (const [i, line] of body.entries()) {
    if (!line.startsWith('+')) {
      throw new PatchError(
        'malformed',
        `Line ${i + 1} of the new file's diff, ${quote(line)}, does not start with '+'. When creating a file every line starts with '+' (an empty line is a lone '+').`,
      );
    }
    out.push(line.slice(1));
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// The envelope (answer-text mode)

const BEGIN = '*** Begin Patch';
const END = '*** End Patch';
const ADD = '*** Add File:';
const UPDATE = '*** Update File:';
const DELETE = '*** Delete File:';
const MOVE = '*** Move to:';

function isMarker(line: string, marker: string): boolean {
  return line.trim() === marker;
}

function headerPath(line: string, header: string): string | null {
  const t = line.trim();
  if (!t.startsWith(header)) return null;
  return t.slice(header.length).trim();
}

function isFileHeader(line: string): boolean {
  const t = line.trim();
  return t.startsWith(ADD) || t.startsWith(UPDATE) || t.startsWith(DELETE);
}

/** Where an operation's body ends: a header at the very start of a line (an indented one could be a
 *  context line whose text starts with '*** '). */
function startsFileHeader(line: string): boolean {
  return line.startsWith(ADD) || line.startsWith(UPDATE) || line.startsWith(DELETE);
}

/**
 * The file operations of every `*** Begin Patch` … `*** End Patch` envelope in `text`, in order.
 * The envelope may stand alone or sit inside prose and a ``` fence (the fence lines are outside the
 * markers); if the Begin line is indented, that indentation is removed from every line up to End
 * (a fence nested in a list). Markers may carry surrounding whitespace; body lines are taken as
 * written. Grammar (codex apply_patch_tool_instructions.md):
 *
 *   *** Add File: <path>      then '+' lines (the whole file)          -> create_file
 *   *** Delete File: <path>   nothing follows                          -> delete_file (diff '')
 *   *** Update File: <path>   [*** Move to: <path>] then '@@' hunks    -> update_file (+ moveTo)
 *
 * Each operation's `diff` is its body lines joined with '\n' plus a final '\n' — what the Responses
 * API puts in `operation.diff` — and update hunks are checked here already, so an error names the
 * file. Text without any envelope yields []. Paths are returned as written (trimmed); judging them
 * (absolute, '..', outside the allowed set) is the caller's job.
 *
 * @throws PatchError('malformed') for a missing End (a cut-off answer), an unknown header, an empty
 *   path, a body line that does not belong, file headers without an envelope; PatchError('too_large')
 *   past V4A_LIMITS.
 */
export function parsePatch(text: string): PatchOperation[] {
  const bytes = utf8Bytes(text);
  if (bytes > V4A_LIMITS.maxPatchBytes) {
    throw new PatchError('too_large', `The patch is ${bytes} bytes; at most ${V4A_LIMITS.maxPatchBytes} are accepted. Split the change into several smaller patches.`);
  }
  const all = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const ops: PatchOperation[] = [];
  let i = 0;
  let envelopes = 0;
  while (i < all.length) {
    if (!isMarker(all[i]!, BEGIN)) {
      i++;
      continue;
    }
    envelopes++;
    const beginLine = i + 1;
    const indent = /^[ \t]*/.exec(all[i]!)![0];
    const endIndex = all.findIndex((l, j) => j > i && isMarker(l, END));
    if (endIndex === -1) {
      throw new PatchError(
        'malformed',
        `The patch that starts at line ${beginLine} ('${BEGIN}') has no '${END}' line: it is incomplete (perhaps the answer was cut off). Send the whole patch again, ending with '${END}'.`,
      );
    }
    const body = all.slice(i + 1, endIndex).map((l, k) => {
      if (!indent || l.trim() === '') return l.startsWith(indent) ? l.slice(indent.length) : l.trimStart();
      if (!l.startsWith(indent)) {
        throw new PatchError('malformed', `Line ${i + 2 + k} of the answer is less indented than the '${BEGIN}' line above it; every line of an indented patch must share that indentation.`);
      }
      return l.slice(indent.length);
    });
    ops.push(...parseEnvelopeBody(body, i + 2));
    if (ops.length > V4A_LIMITS.maxOperations) {
      throw new PatchError('too_large', `The patch has more than ${V4A_LIMITS.maxOperations} file operations; split it into several patches.`);
    }
    i = endIndex + 1;
  }
  if (envelopes === 0) {
    const stray = all.findIndex(isFileHeader);
    if (stray !== -1) {
      throw new PatchError(
        'malformed',
        `Line ${stray + 1}, ${quote(all[stray]!.trim())}, is a file header outside a patch. Wrap the operations in a line '${BEGIN}' before and a line '${END}' after.`,
      );
    }
  }
  return ops;
}

/** `lines` lie between the markers; `firstLine` is the 1-based answer line of lines[0], for messages. */
function parseEnvelopeBody(lines: string[], firstLine: number): PatchOperation[] {
  const ops: PatchOperation[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const at = firstLine + i;
    if (line.trim() === '') {
      i++;
      continue;
    }
    const add = headerPath(line, ADD);
    const upd = headerPath(line, UPDATE);
    const del = headerPath(line, DELETE);
    const path = add ?? upd ?? del;
    if (path === null) {
      throw new PatchError(
        'malformed',
        `Line ${at} of the answer, ${quote(line)}, should start a file operation: '${ADD} <path>', '${UPDATE} <path>' or '${DELETE} <path>'.`,
      );
    }
    if (path === '') throw new PatchError('malformed', `Line ${at} of the answer, ${quote(line.trim())}, names no path.`);
    i++;
    // The body of this operation runs to the next file header.
    const start = i;
    while (i < lines.length && !startsFileHeader(lines[i]!)) i++;
    let bodyLines = lines.slice(start, i);
    // Empty lines between operations are not part of the body (a ' ' line is: an empty context line).
    while (bodyLines.length > 0 && bodyLines[bodyLines.length - 1] === '') bodyLines = bodyLines.slice(0, -1);
    const diff = bodyLines.length > 0 ? `${bodyLines.join('\n')}\n` : '';

    if (del !== null) {
      if (bodyLines.length > 0) {
        throw new PatchError('malformed', `'${DELETE} ${path}' is followed by ${quote(bodyLines[0]!)}; nothing may follow a delete.`, { path });
      }
      ops.push({ type: 'delete_file', path, diff: '' });
    } else if (add !== null) {
      try {
        createContent(diff);
      } catch (err) {
        throw withPath(err, path, `In '${ADD} ${path}': `);
      }
      ops.push({ type: 'create_file', path, diff });
    } else {
      let moveTo: string | undefined;
      let hunkLines = bodyLines;
      const move = hunkLines.length > 0 ? headerPath(hunkLines[0]!, MOVE) : null;
      if (move !== null) {
        if (move === '') throw new PatchError('malformed', `'${MOVE}' after '${UPDATE} ${path}' names no path.`, { path });
        moveTo = move;
        hunkLines = hunkLines.slice(1);
      }
      const hunkDiff = hunkLines.length > 0 ? `${hunkLines.join('\n')}\n` : '';
      if (hunkDiff === '' && moveTo === undefined) {
        throw new PatchError('malformed', `'${UPDATE} ${path}' has no hunks. Give '@@' hunks with the change, or remove the operation.`, { path });
      }
      if (hunkDiff !== '') {
        try {
          parseHunks(checkDiffSize(hunkDiff, 'update diff'));
        } catch (err) {
          throw withPath(err, path, `In '${UPDATE} ${path}': `);
        }
      }
      ops.push(moveTo === undefined ? { type: 'update_file', path, diff: hunkDiff } : { type: 'update_file', path, diff: hunkDiff, moveTo });
    }
  }
  return ops;
}

function withPath(err: unknown, path: string, prefix: string): unknown {
  if (!(err instanceof PatchError)) return err;
  return new PatchError(err.code, prefix + err.message, { hunk: err.hunk, path });
}

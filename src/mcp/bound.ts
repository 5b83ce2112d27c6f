// Every tool result stays under ~10,000 o200k tokens (the product contract), counted on what is sent:
// the JSON of the whole CallToolResult, structuredContent and text rendering together (the text is
// rendered from the same, shortened data). Whatever was stored — a model's plan, outputs, feedback,
// a request of 100,000 characters, a human's notes, rows written before any limit existed — is cut
// only as far as needed: all long strings to one length, then nested lists to one count, stepping
// down until the result fits; only then top-level lists (a plan's subtasks), and last of all the
// protected fields (a paged output). A cut string ends in "…[cut: N more characters]", a cut list
// of strings in "…[+N more]", and `next` then says how to see the rest.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { clipBytes, utf8Bytes } from '../core/text.js';

/**
 * The bound, in o200k tokens of JSON.stringify(result). 500 under the contract's 10,000: room for the
 * JSON-RPC envelope and for a count made in chunks (see the token counter) differing by a little.
 */
export const RESULT_TOKENS = 9_500;

/** Strings this short are never cut: ids (at most 64), enum values, model names, timestamps. */
const SHORT_BYTES = 64;

interface Level {
  /** Longer strings are cut to this many bytes of UTF-8. */
  bytes: number;
  /** Nested lists of strings or objects keep this many items. */
  items: number;
  /** Top-level lists (a plan's subtasks, a workflow list) keep this many; whole when absent. */
  top?: number;
  /** The last resort: protected fields and top-level lists are cut too. */
  all?: boolean;
}

// The first level only caps what is absurd (a legacy 20 MB field), so that counting stays cheap.
const LEVELS: Level[] = [
  { bytes: 16_000, items: 200 },
  { bytes: 4_000, items: 200 },
  { bytes: 2_000, items: 100 },
  { bytes: 1_000, items: 50 },
  { bytes: 500, items: 20 },
  { bytes: 250, items: 10 },
  { bytes: 120, items: 5 },
  { bytes: 60, items: 3 },
  { bytes: 24, items: 2 },
  { bytes: 0, items: 1 },
  { bytes: 0, items: 1, top: 20 },
  { bytes: 0, items: 1, top: 5 },
  { bytes: 0, items: 1, top: 1, all: true },
];

/** Appended to `next` of a result that had to be cut: says what the markers mean and where the rest is. */
export const CUT_NOTE =
  '(Long fields were cut to keep this result under 10,000 tokens, marked "…[cut" or "…[+N more]". workflow_status {workflow_id, subtask_id} shows one subtask in more detail and pages its output with offset.)';

/** How boundResult builds and bounds one result. */
export interface BoundOptions {
  /** Counts o200k tokens (the core's TokenCounter). */
  count(text: string): number;
  /** Fields never cut before the last resort: a paged output (its marker carries the next offset) and `next`. */
  protect?: ReadonlySet<string>;
  /** Text appended to the rendering (not part of structuredContent). */
  suffix?: string;
  /** An error result: text only, no structuredContent. */
  isError?: boolean;
  /** The bound in o200k tokens of the whole result's JSON; default RESULT_TOKENS. */
  limit?: number;
}

const DEFAULT_PROTECT: ReadonlySet<string> = new Set(['next', 'output']);

/**
 * The CallToolResult for `data` and its text rendering, within `limit` (default RESULT_TOKENS)
 * tokens: as it is when it fits, else shortened by the first level of LEVELS that fits (found by
 * bisection). `render` must accept the shortened data (same shape; strings and lists shorter).
 */
export function boundResult<T extends object>(data: T, render: (data: T) => string, o: BoundOptions): CallToolResult {
  const limit = o.limit ?? RESULT_TOKENS;
  const protect = o.protect ?? DEFAULT_PROTECT;
  const build = (d: T): CallToolResult => {
    const text = render(d) + (o.suffix ?? '');
    return o.isError ? { isError: true, content: [{ type: 'text', text }] } : { content: [{ type: 'text', text }], structuredContent: d as Record<string, unknown> };
  };
  const whole = build(data);
  // An o200k token is at least one byte: a result of fewer bytes than the limit needs no count.
  if (utf8Bytes(JSON.stringify(whole)) <= limit) return whole;
  const fits = (r: CallToolResult) => o.count(JSON.stringify(r)) <= limit;
  const atLevel = (i: number): CallToolResult => {
    const state = { cut: false };
    const shortened = shrink(data, LEVELS[i]!, protect, null, 0, state) as T;
    if (!state.cut) return whole;
    if (typeof (shortened as { next?: unknown }).next === 'string') (shortened as { next: string }).next += ` ${CUT_NOTE}`;
    return build(shortened);
  };
  // Most results fit once the absurd is capped (level 0); otherwise bisect for the mildest level that fits.
  const first = atLevel(0);
  if (fits(first)) return first;
  let lo = 1;
  let hi = LEVELS.length - 1;
  let found: CallToolResult | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const candidate = atLevel(mid);
    if (fits(candidate)) {
      found = candidate;
      hi = mid - 1;
    } else lo = mid + 1;
  }
  return found ?? atLevel(LEVELS.length - 1);
}

/** `value` with strings and nested lists cut to `level`; sets state.cut when anything was. */
function shrink(value: unknown, level: Level, protect: ReadonlySet<string>, key: string | null, depth: number, state: { cut: boolean }): unknown {
  if (typeof value === 'string') {
    if (key !== null && protect.has(key) && !level.all) return value;
    return cutString(value, level.all && key !== null && protect.has(key) ? Math.max(level.bytes, 1_000) : level.bytes, state);
  }
  if (Array.isArray(value)) {
    const cuttable = value.length > 0 && value.every((v) => typeof v === 'string' || (v !== null && typeof v === 'object'));
    const keep = !cuttable ? Infinity : depth > 1 ? level.items : (level.top ?? Infinity);
    const items = value.slice(0, keep).map((v) => shrink(v, level, protect, key, depth + 1, state));
    if (value.length > keep) {
      state.cut = true;
      if (typeof value[0] === 'string') items.push(`…[+${value.length - keep} more]`);
    }
    return items;
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shrink(v, level, protect, k, depth + 1, state)]));
  }
  return value;
}

function cutString(text: string, bytes: number, state: { cut: boolean }): string {
  if (!clipBytes(text, Math.max(bytes, SHORT_BYTES)).truncated) return text;
  const kept = clipBytes(text, bytes);
  state.cut = true;
  return `${kept.text}…[cut: ${(kept.total - kept.text.length).toLocaleString('en-US')} more characters]`;
}

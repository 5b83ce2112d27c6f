// Reads what `codex exec --json` prints and says what went wrong when it fails. Pure: strings in,
// values out, so the provider (which owns the process) and the tests share one reading of the CLI.
// Shapes and message texts: docs/research/codex-exec.md (codex-rs/exec/src/exec_events.rs,
// event_processor_with_jsonl_output.rs and core/src/error.rs of openai/codex, checked against
// codex-cli 0.171.0 run on a local Responses stand-in).
import type { Usage } from '../../core/types.js';

/** One completed thread item, as `item.completed` carries it. Only the fields planexec reads are typed. */
export type CodexItem =
  | { type: 'agent_message'; id: string; text: string }
  | { type: 'reasoning'; id: string; text: string }
  | { type: 'command_execution'; id: string; command: string; aggregated_output: string; exit_code: number | null; status: string }
  | { type: 'file_change'; id: string; changes: Array<{ path: string; kind: string }>; status: string }
  | { type: 'mcp_tool_call'; id: string; server: string; tool: string; status: string }
  | { type: 'web_search'; id: string; query: string }
  | { type: 'todo_list'; id: string; items: Array<{ text: string; completed: boolean }> }
  | { type: 'error'; id: string; message: string }
  | { type: string; id: string; [field: string]: unknown };

/**
 * Why a Codex call failed. `signed_out`: no or expired ChatGPT sign-in (HTTP 401, refresh failures);
 * `quota`: the subscription's usage limit or credits are used up; `rate_limit`: HTTP 429 after the
 * CLI's own retries, or model capacity; `model`: the model name is unknown or not offered on this
 * account; `thread_missing`: `exec resume` found no stored thread (rebuild it from the store);
 * `failed`: anything else (server errors, bad flags, a crash).
 */
export type CodexFailureKind = 'signed_out' | 'quota' | 'rate_limit' | 'model' | 'thread_missing' | 'failed';

/** A failed Codex call: its kind, for the error reason and hint, and the CLI's own words for the message. */
export interface CodexFailure {
  kind: CodexFailureKind;
  /** The CLI's own words (turn.failed message, or the meaningful stderr lines), at most 600 characters. */
  message: string;
}

/** Token totals as `turn.completed` reports them, renamed to planexec's Usage fields. */
export interface CodexUsage extends Usage {
  /** Part of output_tokens spent on reasoning (0 when the CLI does not report it). */
  reasoning_tokens: number;
}

/** What one `codex exec --json` run printed, read in full. */
export interface CodexRun {
  /** From `thread.started`; the same id comes back when a thread is resumed. */
  threadId: string | null;
  /** `completed`: turn.completed seen; `failed`: turn.failed seen; `incomplete`: neither (killed, interrupted, cut short). */
  status: 'completed' | 'failed' | 'incomplete';
  /** Text of the last completed agent_message (the JSON string when --output-schema was given). */
  text: string | null;
  /**
   * From turn.completed. These are the THREAD's running totals, not this turn's: a resumed thread
   * reports the sum over all its turns (and over all model requests within each turn). Use
   * usageSince() with the totals stored after the previous turn to get this call's share.
   */
  usage: CodexUsage | null;
  /** Set from turn.failed (or a terminal error event when no turn.failed followed). */
  error: CodexFailure | null;
  /** Completed items in order, the answer included. */
  items: CodexItem[];
  /** Non-fatal notices: `error` items (config warnings, fallbacks) and retry `error` events ("Reconnecting... 2/5 ..."). */
  warnings: string[];
  /** Lines that were not JSON objects with a string `type` (at most 5 kept, each cut to 200 characters). */
  malformed: string[];
}

const MAX_MESSAGE = 600;
const MAX_MALFORMED = 5;

/** Retry notices the CLI prints as `error` events while it still retries; they are not failures. */
const RETRY_NOTICE = /^Reconnecting\.\.\./;

/**
 * Incremental reader of the CLI's stdout: feed chunks as they arrive (lines may be split anywhere),
 * then call end(). Never throws on bad input: unknown event types are ignored, bad lines are kept in
 * `malformed`.
 */
export class CodexEventReader {
  private buffer = '';
  private lastErrorEvent: string | null = null;
  private readonly run: CodexRun = {
    threadId: null,
    status: 'incomplete',
    text: null,
    usage: null,
    error: null,
    items: [],
    warnings: [],
    malformed: [],
  };

  /** Adds a chunk of stdout (UTF-8 text). */
  feed(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      this.line(this.buffer.slice(0, nl));
      this.buffer = this.buffer.slice(nl + 1);
    }
  }

  /** Reads any last line without a newline and returns the run. Call once, after the process ended. */
  end(): CodexRun {
    if (this.buffer.length > 0) this.line(this.buffer);
    this.buffer = '';
    if (this.run.status === 'incomplete' && !this.run.error && this.lastErrorEvent) {
      // The CLI exits 1 after a non-retried error even when no turn.failed was printed.
      this.run.error = failure(this.lastErrorEvent);
    }
    return this.run;
  }

  private line(raw: string): void {
    const line = raw.trim();
    if (!line) return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      this.malformedLine(line);
      return;
    }
    if (!isRecord(event) || typeof event.type !== 'string') {
      this.malformedLine(line);
      return;
    }
    const run = this.run;
    switch (event.type) {
      case 'thread.started':
        if (typeof event.thread_id === 'string') run.threadId = event.thread_id;
        break;
      case 'item.completed': {
        const item = event.item;
        if (!isRecord(item) || typeof item.type !== 'string') {
          this.malformedLine(line);
          break;
        }
        run.items.push(item as CodexItem);
        if (item.type === 'agent_message' && typeof item.text === 'string') run.text = item.text;
        if (item.type === 'error' && typeof item.message === 'string') run.warnings.push(item.message);
        break;
      }
      case 'turn.completed':
        run.status = 'completed';
        run.usage = readUsage(event.usage);
        break;
      case 'turn.failed': {
        run.status = 'failed';
        const error = isRecord(event.error) ? event.error : {};
        const message = typeof error.message === 'string' && error.message ? error.message : (this.lastErrorEvent ?? 'turn failed');
        run.error = failure(message);
        break;
      }
      case 'error':
        if (typeof event.message === 'string') {
          if (RETRY_NOTICE.test(event.message)) run.warnings.push(event.message);
          else this.lastErrorEvent = event.message;
        }
        break;
      default:
        // turn.started, item.started, item.updated, and types newer CLIs add (item.plan.delta, ...).
        break;
    }
  }

  private malformedLine(line: string): void {
    if (this.run.malformed.length < MAX_MALFORMED) this.run.malformed.push(line.slice(0, 200));
  }
}

/** Reads a whole stdout capture of `codex exec --json`. Same rules as CodexEventReader. */
export function parseCodexEvents(jsonl: string): CodexRun {
  const reader = new CodexEventReader();
  reader.feed(jsonl);
  return reader.end();
}

function readUsage(value: unknown): CodexUsage | null {
  if (!isRecord(value)) return null;
  const n = (key: string) => (typeof value[key] === 'number' && Number.isFinite(value[key]) ? (value[key] as number) : 0);
  return {
    input_tokens: n('input_tokens'),
    cached_tokens: n('cached_input_tokens'),
    output_tokens: n('output_tokens'),
    reasoning_tokens: n('reasoning_output_tokens'),
  };
}

/**
 * This call's share of a thread's running totals: `total` minus the totals recorded after the
 * previous call on the same thread (null for a new thread). Never negative: if the totals went down
 * (a thread rebuilt under the same id), `total` is returned whole.
 */
export function usageSince(total: CodexUsage, previous: CodexUsage | null): CodexUsage {
  if (!previous) return { ...total };
  const keys = ['input_tokens', 'cached_tokens', 'output_tokens', 'reasoning_tokens'] as const;
  if (keys.some((k) => total[k] < previous[k])) return { ...total };
  return {
    input_tokens: total.input_tokens - previous.input_tokens,
    cached_tokens: total.cached_tokens - previous.cached_tokens,
    output_tokens: total.output_tokens - previous.output_tokens,
    reasoning_tokens: total.reasoning_tokens - previous.reasoning_tokens,
  };
}

// Texts from codex-rs (core/src/error.rs, login, exec/src/lib.rs) and codex-cli 0.171.0 output; the CLI
// prints a typographic apostrophe (You’ve) in recent versions and a straight one in older ones.
const QUOTA = [
  /hit your usage limit/i,
  /reached your usage limit/i,
  /usage limit reached/i,
  /out of credits/i,
  /workspace credit limit/i,
  /spend cap/i,
  /quota exceeded/i,
  /insufficient_quota/i,
  /To use Codex with your ChatGPT plan, upgrade to Plus/i,
];
const SIGNED_OUT = [
  /\b401 Unauthorized\b/i,
  /\bstatus:? 401\b/i,
  /Missing bearer or basic authentication/i,
  /\bnot logged in\b/i,
  /\bnot signed in\b/i,
  /access token could not be refreshed/i,
  /authentication session could not be refreshed/i,
  /(sign|log) in again/i,
  /re-run `?codex login/i,
  /You didn't provide an API key/i,
  /Incorrect API key provided/i,
];
const THREAD_MISSING = [/no rollout found for thread id/i, /no conversation with id/i, /thread\/resume failed/i];
const MODEL = [
  /model is not supported when using Codex/i,
  /\bmodel\b[^.]{0,120}\bdoes not exist\b/i,
  /model_not_found/i,
  /\b(unknown|unsupported|invalid) model\b/i,
];
const RATE_LIMIT = [/\b429\b/, /Too Many Requests/i, /rate limit (exceeded|reached)/i, /rate_limit_exceeded/i, /model is at capacity/i];

/** Sorts one of the CLI's failure messages into a CodexFailureKind (`failed` when nothing matches). */
export function classifyCodexMessage(message: string): CodexFailureKind {
  const any = (patterns: RegExp[]) => patterns.some((p) => p.test(message));
  if (any(QUOTA)) return 'quota';
  if (any(SIGNED_OUT)) return 'signed_out';
  if (any(THREAD_MISSING)) return 'thread_missing';
  if (any(MODEL)) return 'model';
  if (any(RATE_LIMIT)) return 'rate_limit';
  return 'failed';
}

function failure(message: string): CodexFailure {
  const text = cut(message.trim()) || 'turn failed';
  return { kind: classifyCodexMessage(text), message: text };
}

// ESC [ ... final byte: colour codes, in case a user forces colour through config.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[ -/]*[@-~]`, 'g');
const TRACING_LINE = /^\d{4}-\d{2}-\d{2}T[\d:.]+Z\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s/;
const NOISE = [/^WARNING: proceeding, even though we could not create PATH aliases/, /^Reading (prompt|additional input) from stdin\.\.\.$/];

/**
 * The failure of a run that ended outside the event stream: a non-zero exit with only stderr to go on
 * (bad flags exit 2; config, schema-file, git-check, resume and stdin errors exit 1 before any event).
 * Returns null for exit code 0. `exitCode` null means the process was ended by a signal. Tracing log
 * lines, PATH-alias warnings, stdin notices and Rust backtraces are left out of the message unless
 * nothing else is there.
 */
export function classifyCodexFailure(stderr: string, exitCode: number | null): CodexFailure | null {
  if (exitCode === 0) return null;
  const lines = stderr.replace(ANSI, '').split(/\r?\n/).map((l) => l.trim());
  const backtrace = lines.findIndex((l) => l === 'Stack backtrace:');
  const kept = (backtrace >= 0 ? lines.slice(0, backtrace) : lines).filter((l) => l && !NOISE.some((p) => p.test(l)));
  const plain = kept.filter((l) => !TRACING_LINE.test(l));
  const text = (plain.length ? plain : kept).join(' ');
  const how = exitCode === null ? 'was ended by a signal' : `exited with code ${exitCode}`;
  const message = text ? cut(text) : `The Codex CLI ${how} without printing a reason.`;
  return { kind: text ? classifyCodexMessage(text) : 'failed', message };
}

/**
 * The failure of a whole call, from both channels: the event stream's own error first (it carries the
 * CLI's reason), then a non-zero exit, then a run that ended without an answer. Null when the turn
 * completed with an agent message and the process exited 0.
 */
export function codexCallFailure(run: CodexRun, stderr: string, exitCode: number | null): CodexFailure | null {
  if (run.error) return run.error;
  const exit = classifyCodexFailure(stderr, exitCode);
  if (exit) return exit;
  if (run.status !== 'completed') return { kind: 'failed', message: 'The Codex CLI exited without finishing the turn (no turn.completed event).' };
  if (run.text === null) return { kind: 'failed', message: 'The Codex CLI finished the turn without an answer (no agent_message item).' };
  return null;
}

function cut(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

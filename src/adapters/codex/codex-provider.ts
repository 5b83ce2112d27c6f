// ModelProvider over the user's Codex CLI (`codex exec --json`), on their ChatGPT sign-in: each call is
// one CLI process, run with an argument array in its own process group, in a read-only sandbox rooted
// at an empty private folder, with its tools turned off, so the model answers from the prompt alone and
// never touches the workspace (planexec applies edits itself). The prompt goes in on stdin; the answer
// and usage come from the JSONL events. How the CLI behaves, and why each flag is there:
// docs/research/codex-exec.md ("Provider, step by step").
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ModelCallError, type ModelFailure } from '../../core/errors.js';
import type { ModelProvider, ModelRequest, ModelResponse, ProviderCapabilities } from '../../core/ports.js';
import type { ThreadTurn, Usage } from '../../core/types.js';
import { CommandRunner, type CommandResult } from '../process/run-command.js';
import { findProgram } from '../process/find-program.js';
import { seconds } from '../openai/sdk-client.js';
import { redactSecrets } from '../redact.js';
import { codexExecArgs } from './codex-args.js';
import { CodexEventReader, codexCallFailure, usageSince, type CodexFailure, type CodexRun, type CodexUsage } from './codex-events.js';

/** Where the provider's notices go (stderr through the server's logger); never stdout. */
export interface CodexLogger {
  warn(message: string, ...rest: unknown[]): void;
  debug(message: string, ...rest: unknown[]): void;
}

/** Options of CodexCliProvider, built from the settings by providers.ts. */
export interface CodexProviderOptions {
  /** The CLI: a path, or a name looked up on the environment's PATH (PLANEXEC_CODEX_BIN; default 'codex'). */
  bin?: string;
  /** Bounds each call, the whole answer included, in ms (PLANEXEC_MODEL_TIMEOUT_MS); the process group is killed then. */
  timeoutMs: number;
  /**
   * The environment the CLI starts from (default process.env). It is always scrubbed (scrubEnv in
   * src/adapters/process/run-command.ts): provider keys, CODEX_API_KEY (API billing), *_TOKEN and
   * PLANEXEC_* go; PATH, HOME, CODEX_HOME, proxy and CA variables stay. CODEX_ACCESS_TOKEN (a
   * ChatGPT workspace's token for automation: the subscription path, docs/research/codex-exec.md)
   * is passed back to the CLI, and to nothing else.
   */
  env?: Record<string, string | undefined>;
  /** SIGTERM-to-SIGKILL grace when a CLI is stopped, ms (default 2000). */
  killGraceMs?: number;
  /** Where the private folders (the empty -C root, output-schema files) are made; default os.tmpdir(). */
  tempDir?: string;
  /**
   * Folder for pid files of running CLIs (killRecordedGroups in run-command.ts ends them after a crash
   * of this process); none by default.
   */
  pidDir?: string;
  logger?: CodexLogger;
  /** Secret values to keep out of every message. */
  secrets?: readonly string[];
}

/** How long `codex login status` may take before planexec stops waiting and goes on without knowing. */
const LOGIN_TIMEOUT_MS = 20_000;
/** stderr kept per call for the failure message (the CLI's error lines come last). */
const STDERR_BYTES = 64 * 1024;

const INSTALL_HINT =
  'Install the Codex CLI (`npm i -g @openai/codex`) and sign in with `codex login`, or set PLANEXEC_CODEX_BIN to the path of the `codex` binary in the env of the planexec entry in your MCP host config.';
const LOGIN_HINT = 'Run `codex login` in a terminal, as the user planexec runs as and with the same CODEX_HOME, then retry.';

/**
 * The response id this provider hands out for a turn on a kept thread: `codex:<thread id>:<input>:
 * <cached>:<output>:<reasoning>`, the thread's running token totals after the turn (the CLI reports
 * totals, not each turn's usage). The next call's share is its totals minus these, also after a
 * restart of planexec; and a request that continues from an older turn than the thread's latest one
 * can be told apart (the CLI cannot fork a thread: the core then resends its own record).
 */
export function codexResponseId(threadId: string, totals: CodexUsage): string {
  return `codex:${threadId}:${totals.input_tokens}:${totals.cached_tokens}:${totals.output_tokens}:${totals.reasoning_tokens}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads a response id this provider made (codexResponseId), or a bare Codex thread id (a UUID; its
 * totals unknown). Null for anything else, e.g. a Responses API id from before the role's provider
 * was switched.
 */
export function parseCodexResponseId(id: string): { threadId: string; totals: CodexUsage | null } | null {
  if (UUID.test(id)) return { threadId: id, totals: null };
  const m = /^codex:([0-9a-f-]{36}):(\d+):(\d+):(\d+):(\d+)$/i.exec(id);
  if (!m || !UUID.test(m[1]!)) return null;
  const [input, cached, output, reasoning] = [m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number];
  return { threadId: m[1]!, totals: { input_tokens: input, cached_tokens: cached, output_tokens: output, reasoning_tokens: reasoning } };
}

/**
 * The prompt of a new thread that carries an earlier conversation (the CLI takes one prompt; there is
 * no way to hand it earlier turns): each turn in <user>/<assistant> tags inside a numbered
 * <earlier-turn>, oldest first, then the new message. Deterministic, so a thread rebuilt twice from
 * the same record starts with the same bytes.
 */
export function renderHistoryPrompt(history: readonly ThreadTurn[], input: string): string {
  const turns = history.map((t, i) => `<earlier-turn n="${i + 1}">\n<user>\n${t.input}\n</user>\n<assistant>\n${t.output}\n</assistant>\n</earlier-turn>`);
  return [
    'This conversation continues an earlier one. Its turns follow, oldest first, as planexec recorded them; your answers there are yours.',
    ...turns,
    'The new message:',
    input,
  ].join('\n\n');
}

/**
 * Codex CLI provider. Capabilities: threads kept by the CLI (continued with `exec resume`), structured
 * output through `--output-schema` (sent as a strict json_schema format), no prompt-cache controls
 * (the thread id is the CLI's cache key). No output cap: `codex exec` has none, so maxOutputTokens is
 * not enforced. Executor calls run `--ephemeral` (no session file; nothing continues them); planner
 * calls keep their thread under CODEX_HOME/sessions.
 *
 * Usage: `turn.completed` reports the thread's running totals; a call's share is its totals minus
 * those after the turn it continues (carried in the response id). A thread continued from a bare
 * thread id with no totals known gives usage null (the core estimates it).
 *
 * Errors (ModelCallError): no_api_key (the CLI is not found or not executable), auth (signed out),
 * quota (the plan's Codex usage limit), rate_limit, bad_request (a model the sign-in does not offer,
 * a request the API refused), server (the backend failed after the CLI's retries), thread_lost (the
 * CLI has no such thread, or it has moved on past the turn continued), timeout, aborted, empty, and
 * failed (any other exit, with the end of what the CLI printed, redacted).
 */
export class CodexCliProvider implements ModelProvider {
  readonly capabilities: ProviderCapabilities = { serverThreads: true, promptCacheControls: false, structuredOutput: true, applyPatchTool: false };
  private readonly bin: string;
  private readonly runner: CommandRunner;
  private readonly secrets: readonly string[];
  private readonly env: Record<string, string | undefined>;
  private folder: string | null = null;
  private signedIn: Promise<void> | null = null;
  /** The latest totals of each thread this process ran a turn on, to tell a continued older turn. */
  private readonly latest = new Map<string, CodexUsage>();

  constructor(private readonly opts: CodexProviderOptions) {
    this.bin = opts.bin?.trim() || 'codex';
    this.env = opts.env ?? process.env;
    const access = this.env.CODEX_ACCESS_TOKEN?.trim();
    this.runner = new CommandRunner({
      env: this.env,
      ...(access ? { passEnv: { CODEX_ACCESS_TOKEN: access } } : {}),
      ...(opts.killGraceMs !== undefined ? { killGraceMs: opts.killGraceMs } : {}),
    });
    this.secrets = opts.secrets ?? [];
  }

  /** How many CLI processes run now. */
  get running(): number {
    return this.runner.size;
  }

  /** Throws ModelCallError no_api_key when the CLI cannot be found or run (a path check; no process). */
  ready(): void {
    this.executable();
  }

  /**
   * The absolute path of the CLI (spawned by that path: the child runs in the private folder, where a
   * relative path would not resolve). Throws no_api_key when there is none.
   */
  private executable(): string {
    const found = this.resolveBin();
    if (found) return found;
    throw new ModelCallError('no_api_key', `The Codex CLI was not found: '${this.bin}' is not an executable file${this.bin.includes('/') ? '' : ' on PATH'} (PLANEXEC_CODEX_BIN).`, INSTALL_HINT);
  }

  private resolveBin(): string | null {
    return findProgram(this.bin, this.env.PATH);
  }

  async generate(req: ModelRequest): Promise<ModelResponse> {
    const bin = this.executable();
    await this.checkSignIn(bin);
    const thread = this.threadOf(req);
    const work = this.workdir();
    let schemaFile: string | undefined;
    if (req.format) {
      schemaFile = join(this.folder!, `schema-${randomBytes(8).toString('hex')}.json`);
      writeFileSync(schemaFile, JSON.stringify(req.format.schema), { mode: 0o600 });
    }
    const ephemeral = !thread && req.role === 'executor';
    const prompt = !thread && req.history?.length ? renderHistoryPrompt(req.history, req.input) : req.input;
    const argv = [
      bin,
      ...codexExecArgs({
        model: req.model,
        cwd: work,
        sandbox: 'read-only',
        ...(schemaFile ? { outputSchemaPath: schemaFile } : {}),
        ...(thread ? { resumeThreadId: thread.threadId } : { developerInstructions: req.instructions }),
        ephemeral,
      }),
    ];
    const reader = new CodexEventReader();
    const stderr = new Tail(STDERR_BYTES);
    let result: CommandResult;
    try {
      result = await this.runner.run({
        argv,
        cwd: work,
        timeoutMs: this.opts.timeoutMs,
        ...(req.signal ? { signal: req.signal } : {}),
        input: prompt,
        tailBytes: 1024,
        onOutput: (stream, chunk) => (stream === 'stdout' ? reader.feed(chunk.toString('utf8')) : stderr.push(chunk.toString('utf8'))),
        ...(this.opts.pidDir ? { pidFile: join(this.opts.pidDir, `codex-${randomBytes(6).toString('hex')}.json`) } : {}),
      });
    } finally {
      if (schemaFile) rmSync(schemaFile, { force: true });
    }
    const run = reader.end();
    if (run.warnings.length) this.opts.logger?.debug('codex: notices', { warnings: run.warnings.map((w) => this.clean(w)) });
    if (result.cancelled) throw new ModelCallError('aborted', `The ${req.model} call (Codex CLI) was cancelled.`, 'Nothing was lost: call the tool again to retry.', { billed: true });
    if (result.timedOut) {
      throw new ModelCallError(
        'timeout',
        `The ${req.model} call (Codex CLI) timed out: no complete answer within ${seconds(this.opts.timeoutMs)} (PLANEXEC_MODEL_TIMEOUT_MS); the CLI was stopped.`,
        'Retry; for long subtasks raise PLANEXEC_MODEL_TIMEOUT_MS.',
        { billed: true },
      );
    }
    if (result.spawnError) throw this.notRunnable(result.spawnError);
    const failure = codexCallFailure(run, stderr.text(), result.exitCode);
    if (failure) {
      if (failure.kind === 'thread_missing' && thread) this.latest.delete(thread.threadId);
      throw this.failed(failure, run, result, req, thread !== null);
    }
    return this.answerOf(run, req, thread, ephemeral);
  }

  /** The thread a request continues, or null for a new one; throws thread_lost when it cannot be continued. */
  private threadOf(req: ModelRequest): { threadId: string; totals: CodexUsage | null } | null {
    if (!req.previousResponseId) return null;
    const lost = (why: string) => new ModelCallError('thread_lost', `The Codex CLI cannot continue the planner's thread: ${why}.`, 'planexec sends the thread again from its own record.');
    const parsed = parseCodexResponseId(req.previousResponseId);
    if (!parsed) throw lost(`'${req.previousResponseId}' is not a Codex thread (was this role on another provider before?)`);
    const latest = this.latest.get(parsed.threadId);
    // Totals only grow along a thread. Behind what this process last saw: a later turn exists that the
    // core did not keep. Ahead: another planexec process continued the thread meanwhile, which is fine.
    if (latest && parsed.totals && parsed.totals.input_tokens < latest.input_tokens) {
      throw lost('the thread has moved on past the turn the request continues (an exchange planexec did not keep), and a Codex thread cannot be forked');
    }
    return { threadId: parsed.threadId, totals: parsed.totals ?? latest ?? null };
  }

  private answerOf(run: CodexRun, req: ModelRequest, thread: { threadId: string; totals: CodexUsage | null } | null, ephemeral: boolean): ModelResponse {
    const total = run.usage;
    // A resumed call reports the thread it continued; were it another (a new thread), its totals are all its own.
    const continued = thread && run.threadId === thread.threadId ? thread : null;
    let usage: Usage | null = null;
    if (total && (!continued || continued.totals)) {
      const share = usageSince(total, continued?.totals ?? null);
      usage = { input_tokens: share.input_tokens, cached_tokens: share.cached_tokens, output_tokens: share.output_tokens };
    }
    const threadId = run.threadId;
    const responseId = !ephemeral && threadId && total ? codexResponseId(threadId, total) : null;
    if (!ephemeral && threadId && total) this.latest.set(threadId, total);
    const text = run.text ?? '';
    if (!text.trim()) {
      throw new ModelCallError('empty', `${req.model} (Codex CLI) answered with no text.`, 'Retry; if it repeats, rephrase the subtask or try another model.', { billed: true, usage, responseId });
    }
    return { responseId, text, usage };
  }

  /** `codex login status`, once per process while it succeeds: a signed-out CLI otherwise spends ~10 s retrying 401s per call. */
  private checkSignIn(bin: string): Promise<void> {
    // Shared by concurrent first calls, so not bound to one caller's signal: a cancelled caller finds
    // its signal aborted when its own CLI is started, and stops there.
    const check = (this.signedIn ??= this.loginStatus(bin));
    // A failed check is not kept: the user may sign in (or install the CLI) while the server runs.
    check.catch(() => {
      if (this.signedIn === check) this.signedIn = null;
    });
    return check;
  }

  private async loginStatus(bin: string): Promise<void> {
    const result = await this.runner.run({ argv: [bin, 'login', 'status'], cwd: this.workdir(), timeoutMs: Math.min(LOGIN_TIMEOUT_MS, this.opts.timeoutMs), tailBytes: 4096 });
    if (result.spawnError) throw this.notRunnable(result.spawnError);
    const said = this.clean(result.outputTail.trim());
    if (result.exitCode === 0) {
      if (/api key/i.test(said)) this.opts.logger?.warn('codex: the Codex CLI is signed in with an API key, so its calls are billed to that API account, not to a ChatGPT plan; run `codex login` for the subscription');
      return;
    }
    if (/not (logged|signed) in/i.test(said)) {
      throw new ModelCallError('auth', `The Codex CLI is not signed in (\`codex login status\`: ${said || `exit ${result.exitCode}`}).`, LOGIN_HINT);
    }
    // An older CLI without `login status`, or one that hung: the call itself will say what is wrong.
    this.opts.logger?.warn('codex: `codex login status` did not answer as expected; going on without knowing the sign-in', {
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      output: said.slice(-500),
    });
  }

  private notRunnable(spawnError: string): ModelCallError {
    return new ModelCallError('no_api_key', `The Codex CLI could not be started (${spawnError}; PLANEXEC_CODEX_BIN='${this.bin}').`, INSTALL_HINT);
  }

  private failed(failure: CodexFailure, run: CodexRun, result: CommandResult, req: ModelRequest, resumed: boolean): ModelCallError {
    const said = this.clean(failure.message);
    const model = req.model;
    const reasonOf = (): [ModelFailure, string, string] => {
      switch (failure.kind) {
        case 'signed_out':
          return ['auth', `The Codex CLI is not signed in, or its sign-in expired: ${said}`, LOGIN_HINT];
        case 'quota':
          return [
            'quota',
            `The Codex usage limit of this sign-in is reached: ${said}`,
            'Wait until the time the message gives, or switch this role to another provider (PLANEXEC_PLANNER_PROVIDER / PLANEXEC_EXECUTOR_PROVIDER=responses with an API key).',
          ];
        case 'rate_limit':
          return ['rate_limit', `${model} is rate-limited through the Codex CLI (after its own retries): ${said}`, 'Wait a minute and retry.'];
        case 'model':
          return [
            'bad_request',
            `The Codex CLI refused the model '${model}': ${said}`,
            `Set PLANEXEC_PLANNER_MODEL / PLANEXEC_EXECUTOR_MODEL to a model this Codex sign-in offers (ChatGPT sign-ins get the Codex models; \`codex\` lists them with /model).`,
          ];
        case 'thread_missing':
          if (resumed) return ['thread_lost', `The Codex CLI no longer has the planner's thread: ${said}`, 'planexec sends the thread again from its own record.'];
          break;
        case 'failed':
          break;
      }
      if (run.status === 'failed') {
        if (/invalid_request_error|"status":\s*400\b|\b400 Bad Request\b/i.test(said)) {
          return ['bad_request', `The model endpoint refused the request the Codex CLI sent for ${model}: ${said}`, 'Check the model name (PLANEXEC_PLANNER_MODEL / PLANEXEC_EXECUTOR_MODEL); if it is right, update the Codex CLI (`npm i -g @openai/codex@latest`).'];
        }
        return ['server', `The Codex backend failed for ${model} (after the CLI's own retries): ${said}`, 'Retry in a minute; if it persists, check status.openai.com.'];
      }
      const how = result.exitCode === null ? `was ended by ${result.signal ?? 'a signal'}` : `exited with code ${result.exitCode}`;
      const hint =
        result.exitCode === 2
          ? "The Codex CLI rejected planexec's arguments: update it (`npm i -g @openai/codex@latest`; planexec needs `exec --json`, `--output-schema` and `--ignore-user-config`)."
          : 'Retry; if it repeats, run `codex exec` by hand with the same model to see the whole error, and check `codex --version`.';
      return ['failed', said.startsWith('The Codex CLI') ? said : `The Codex CLI ${how}: ${said}`, hint];
    };
    const [reason, message, hint] = reasonOf();
    // A turn that started and broke off (a crash, an exit without turn.completed) may have been billed;
    // a request refused (sign-in, quota, model, 4xx/5xx after retries) or flags rejected was not.
    const billed = reason === 'failed' && run.threadId !== null;
    return new ModelCallError(reason, message, hint, { billed, details: { exit_code: result.exitCode } });
  }

  /** The private folder (made once, mode 0700) and the empty folder inside it the CLI runs in. */
  private workdir(): string {
    if (!this.folder || !existsSync(this.folder)) this.folder = mkdtempSync(join(this.opts.tempDir ?? tmpdir(), 'planexec-codex-'));
    const work = join(this.folder, 'work');
    mkdirSync(work, { recursive: true, mode: 0o700 });
    return work;
  }

  /** Stops every running CLI (SIGTERM to its process group, SIGKILL after the grace) and waits for them. */
  killAll(): Promise<void> {
    return this.runner.killAll();
  }

  /** SIGKILL to every running CLI's process group, synchronously: for a process 'exit' handler. */
  killAllNow(): void {
    this.runner.killAllNow();
  }

  /** killAll, then removes the private folder. The provider can still be used afterwards (it makes a new one). */
  async dispose(): Promise<void> {
    await this.killAll();
    if (this.folder) rmSync(this.folder, { recursive: true, force: true });
    this.folder = null;
  }

  private clean(text: string): string {
    return redactSecrets(text, this.secrets);
  }
}

/** The last `limit` characters of a stream of text. */
class Tail {
  private text_ = '';
  constructor(private readonly limit: number) {}
  push(chunk: string): void {
    this.text_ += chunk;
    if (this.text_.length > 2 * this.limit) this.text_ = this.text_.slice(-this.limit);
  }
  text(): string {
    return this.text_.slice(-this.limit);
  }
}

// CodexCliProvider driving the fake Codex CLI (test/support/fake-codex.mjs) as a real process: what it
// runs and sends, answers and usage shares on a kept thread, each failure's message, and that cancel,
// timeout and server stop end the whole process group.
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CodexCliProvider, codexResponseId, parseCodexResponseId, renderHistoryPrompt, type CodexProviderOptions } from '../../src/adapters/codex/codex-provider.js';
import { OpenAIChatProvider } from '../../src/adapters/openai/chat-provider.js';
import { createModelProvider, PROVIDER_KINDS, PROVIDER_SETTINGS } from '../../src/adapters/providers.js';
import type { CoreDeps } from '../../src/core/deps.js';
import { executeSubtask } from '../../src/core/usecases/execute-subtask.js';
import { planTask } from '../../src/core/usecases/plan-task.js';
import { reviewResults } from '../../src/core/usecases/review-results.js';
import { toStrictJsonSchema } from '../../src/core/json-schema.js';
import { ModelCallError } from '../../src/core/errors.js';
import { PlanSchema } from '../../src/core/plan.js';
import type { ModelRequest } from '../../src/core/ports.js';
import { modelFailure } from '../support/model-failure.js';
import { startOpenAIStandin } from '../support/openai-standin.js';
import { plan, workflowResponder } from '../support/responders.js';
import { makeDeps } from '../unit/core-deps.js';
import { FAKE_CODEX, fakeCodexHome, processGone, waitFor, type FakeCodexHome, type FakeCodexReply } from '../support/fake-codex-kit.js';

const homes: FakeCodexHome[] = [];
const providers: CodexCliProvider[] = [];
afterEach(async () => {
  for (const p of providers.splice(0)) await p.dispose();
  for (const h of homes.splice(0)) h.cleanup();
});

function home(replies: FakeCodexReply[], fallback?: FakeCodexReply, env: Record<string, string> = {}): FakeCodexHome {
  const h = fakeCodexHome(replies, fallback);
  Object.assign(h.env, env);
  homes.push(h);
  return h;
}

interface Logged {
  warn: string[];
  debug: string[];
}

function codex(h: FakeCodexHome, opts: Partial<CodexProviderOptions> = {}, logged?: Logged): CodexCliProvider {
  const p = new CodexCliProvider({
    bin: FAKE_CODEX,
    timeoutMs: 20_000,
    env: h.env,
    tempDir: h.dir,
    killGraceMs: 300,
    ...(logged ? { logger: { warn: (m: string) => logged.warn.push(m), debug: (m: string) => logged.debug.push(m) } } : {}),
    ...opts,
  });
  providers.push(p);
  return p;
}

function request(over: Partial<ModelRequest> = {}): ModelRequest {
  return { model: 'gpt-5.4-mini', role: 'executor', instructions: 'You are the executor.', input: 'Write the User type.', cacheKey: 'planexec-executor', ...over };
}

const planner = (over: Partial<ModelRequest> = {}) => request({ model: 'gpt-5.4', role: 'planner', instructions: 'You are the planner.', cacheKey: 'planexec-planner', ...over });

const execRuns = (h: FakeCodexHome) => h.runs().filter((r) => r.kind === 'exec');

describe('a call', () => {
  it('runs `codex exec --json` read-only in an empty private folder, tools off, the prompt on stdin, with a scrubbed environment', async () => {
    const h = home([{ text: 'the answer', usage: { input_tokens: 900, cached_input_tokens: 100, output_tokens: 12, reasoning_output_tokens: 4 } }], undefined, {
      OPENAI_API_KEY: 'sk-test-should-not-pass',
      CODEX_API_KEY: 'codex-key-should-not-pass',
      PLANEXEC_PLANNER_API_KEY: 'sk-planner-should-not-pass',
      GITHUB_TOKEN: 'ghp-should-not-pass',
      CODEX_ACCESS_TOKEN: 'workspace-access-token-passes',
      HTTPS_PROXY: 'http://proxy.invalid:3128',
    });
    const response = await codex(h).generate(request());

    expect(response).toEqual({ responseId: null, text: 'the answer', usage: { input_tokens: 900, cached_tokens: 100, output_tokens: 12 } });
    const [login, run] = h.runs();
    expect(login!.kind).toBe('login');
    const argv = run!.argv;
    expect(argv.slice(0, 2)).toEqual(['exec', '--json']);
    expect(argv).toContain('--skip-git-repo-check');
    expect(argv).toContain('--ignore-user-config');
    expect(argv).toContain('--ephemeral'); // an executor call: nothing continues it
    expect(argv[argv.indexOf('--sandbox') + 1]).toBe('read-only');
    expect(argv[argv.indexOf('-m') + 1]).toBe('gpt-5.4-mini');
    expect(argv.at(-1)).toBe('-');
    expect(argv.join(' ')).not.toContain('Write the User type.');
    expect(run!.stdin).toBe('Write the User type.');
    expect(run!.config).toMatchObject({ developer_instructions: 'You are the executor.', 'features.shell_tool': false, web_search: 'disabled' });
    // -C is an empty folder of the provider's own, not the workspace (and the CLI runs there).
    const root = argv[argv.indexOf('-C') + 1]!;
    expect(root.startsWith(h.dir)).toBe(true);
    expect(run!.cwd).toBe(root);
    expect(readdirSync(root)).toEqual([]);
    // CODEX_ACCESS_TOKEN is the CLI's own sign-in for a ChatGPT workspace (the subscription path): it passes.
    expect(run!.env).toEqual(expect.arrayContaining(['PATH', 'HOME', 'CODEX_HOME', 'HTTPS_PROXY', 'CODEX_ACCESS_TOKEN']));
    expect(run!.env).not.toContain('GITHUB_TOKEN');
    expect(run!.env).not.toContain('OPENAI_API_KEY');
    expect(run!.env).not.toContain('CODEX_API_KEY');
    expect(run!.env).not.toContain('PLANEXEC_PLANNER_API_KEY');
    // Its own process group, so a kill reaches whatever it starts.
    expect(run!.pgid).toBe(run!.pid);
  });

  it('answers plans with --output-schema: the strict schema in a private file, removed after the call', async () => {
    const plan = {
      subtasks: [{ id: 's1', title: 'Parse', description: 'Write the parser.', depends_on: [], complexity: 'routine', output_format: 'a unified diff', relevant_files: [], writes: [], checks: [] }],
      coordination_notes: 'One step.',
    };
    const h = home([{ json: plan }]);
    const p = codex(h);
    const response = await p.generate(planner({ format: { name: 'plan', schema: toStrictJsonSchema(PlanSchema) } }));

    expect(JSON.parse(response.text)).toEqual(plan);
    const argv = execRuns(h)[0]!.argv;
    const schemaFile = argv[argv.indexOf('--output-schema') + 1]!;
    expect(schemaFile.startsWith(h.dir)).toBe(true);
    expect(existsSync(schemaFile)).toBe(false);
  });

  it('checks the sign-in once per process, not per call', async () => {
    const h = home([], { text: 'ok' });
    const p = codex(h);
    await p.generate(request());
    await p.generate(request());
    expect(h.runs().map((r) => r.kind)).toEqual(['login', 'exec', 'exec']);
  });

  it('warns when the CLI is signed in with an API key (billed to the API, not the plan), and goes on', async () => {
    const h = home([{ text: 'ok' }], undefined, { FAKE_CODEX_LOGIN: 'api_key' });
    const logged: Logged = { warn: [], debug: [] };
    await codex(h, {}, logged).generate(request());
    expect(logged.warn.join('\n')).toMatch(/API key/);
    expect(execRuns(h)).toHaveLength(1);
  });

  it('reads the answer past retry notices and a malformed line, and logs the notices at debug', async () => {
    const h = home([{ text: 'still fine', retries: 2, malformed: '<<not json>>' }]);
    const logged: Logged = { warn: [], debug: [] };
    const response = await codex(h, {}, logged).generate(request());
    expect(response.text).toBe('still fine');
    expect(logged.debug).toHaveLength(1);
  });
});

describe('the planner thread', () => {
  it('keeps a planner thread and continues it with exec resume; each call reports its own share of the running totals', async () => {
    const h = home([
      { text: 'first answer', usage: { input_tokens: 1000, cached_input_tokens: 0, output_tokens: 10, reasoning_output_tokens: 3 } },
      { echo: true, usage: { input_tokens: 1100, cached_input_tokens: 1000, output_tokens: 20, reasoning_output_tokens: 5 } },
    ]);
    const p = codex(h);
    const first = await p.generate(planner({ input: 'first prompt' }));
    expect(first.usage).toEqual({ input_tokens: 1000, cached_tokens: 0, output_tokens: 10 });
    const thread = execRuns(h)[0]!.thread_id!;
    expect(first.responseId).toBe(`codex:${thread}:1000:0:10:3`);
    expect(execRuns(h)[0]!.argv).not.toContain('--ephemeral');

    const second = await p.generate(planner({ input: 'second prompt', previousResponseId: first.responseId }));
    const run = execRuns(h)[1]!;
    expect(run.argv.slice(-3)).toEqual(['resume', thread, '-']);
    expect(run.resumed).toBe(true);
    expect(JSON.parse(second.text)).toMatchObject({ prompts: ['first prompt', 'second prompt'], developer_instructions: 'You are the planner.', resumed: true });
    expect(second.usage).toEqual({ input_tokens: 1100, cached_tokens: 1000, output_tokens: 20 });
    expect(second.responseId).toBe(`codex:${thread}:2100:1000:30:8`);
  });

  it('reports the share after a restart too (the totals travel in the response id); a bare thread id gives usage null', async () => {
    const h = home([{ text: 'one', usage: { input_tokens: 500, cached_input_tokens: 0, output_tokens: 5 } }], { text: 'more', usage: { input_tokens: 600, cached_input_tokens: 500, output_tokens: 7 } });
    const first = await codex(h).generate(planner());
    const thread = parseCodexResponseId(first.responseId!)!.threadId;

    const restarted = await codex(h).generate(planner({ previousResponseId: first.responseId }));
    expect(restarted.usage).toEqual({ input_tokens: 600, cached_tokens: 500, output_tokens: 7 });

    const bare = await codex(h).generate(planner({ previousResponseId: thread }));
    expect(bare.usage).toBeNull();
    expect(bare.responseId).toBe(codexResponseId(thread, { input_tokens: 1700, cached_tokens: 1000, output_tokens: 19, reasoning_tokens: 0 }));
  });

  it('starts a new thread carrying planexec\'s record in the prompt when the request sends history instead of a thread', async () => {
    const h = home([{ echo: true }]);
    const history = [
      { input: 'Plan the login page.', output: '{"subtasks":[]}' },
      { input: 'Fix the plan.', output: '{"subtasks":[1]}' },
    ];
    const response = await codex(h).generate(planner({ history, input: 'Review s1.' }));
    const seen = JSON.parse(response.text) as { prompts: string[]; developer_instructions: string; resumed: boolean };
    expect(seen.resumed).toBe(false);
    expect(seen.developer_instructions).toBe('You are the planner.');
    expect(seen.prompts).toEqual([renderHistoryPrompt(history, 'Review s1.')]);
    const prompt = seen.prompts[0]!;
    expect(prompt.indexOf('Plan the login page.')).toBeLessThan(prompt.indexOf('{"subtasks":[]}'));
    expect(prompt.indexOf('{"subtasks":[1]}')).toBeLessThan(prompt.indexOf('Review s1.'));
  });

  it('continues a thread another planexec process moved on meanwhile (the request is ahead of what this one saw)', async () => {
    const h = home([], { text: 'ok', usage: { input_tokens: 100, cached_input_tokens: 0, output_tokens: 1 } });
    const a = codex(h);
    const b = codex(h);
    const first = await a.generate(planner());
    const second = await b.generate(planner({ previousResponseId: first.responseId }));
    const third = await a.generate(planner({ previousResponseId: second.responseId }));
    expect(third.usage).toEqual({ input_tokens: 100, cached_tokens: 0, output_tokens: 1 });
    expect(execRuns(h).map((r) => r.resumed)).toEqual([false, true, true]);
  });

  it('reports thread_lost when the CLI has no such thread, so the core resends its record', async () => {
    const h = home([{ text: 'once' }], { text: 'never' });
    const unknown = '01a228df-2e07-7281-a769-cad02606aef9';
    const error = await modelFailure(codex(h).generate(planner({ previousResponseId: codexResponseId(unknown, { input_tokens: 1, cached_tokens: 0, output_tokens: 1, reasoning_tokens: 0 }) })), 'thread_lost');
    expect(error.message).toContain('no rollout found');
    expect(error.billed).toBe(false);
  });

  it('reports thread_lost without running the CLI for a response id of another provider, or a turn the thread has moved past', async () => {
    const h = home([], { text: 'ok' });
    const p = codex(h);
    await modelFailure(p.generate(planner({ previousResponseId: 'resp_0123abcd' })), 'thread_lost');
    expect(execRuns(h)).toHaveLength(0);

    const first = await p.generate(planner());
    await p.generate(planner({ previousResponseId: first.responseId }));
    // The core dropped the second exchange (say its answer was unusable) and continues from the first.
    const moved = await modelFailure(p.generate(planner({ previousResponseId: first.responseId })), 'thread_lost');
    expect(moved.message).toMatch(/moved on/);
    expect(execRuns(h)).toHaveLength(2);
  });
});

describe('failures name what to do', () => {
  it('a missing CLI: no_api_key naming PLANEXEC_CODEX_BIN and how to install, before anything runs', async () => {
    const h = home([{ text: 'never' }]);
    const byPath = codex(h, { bin: join(h.dir, 'no-such-codex') });
    expect(() => byPath.ready()).toThrow(ModelCallError);
    const error = await modelFailure(byPath.generate(request()), 'no_api_key');
    expect(error.message).toContain('PLANEXEC_CODEX_BIN');
    expect(error.hint).toContain('npm i -g @openai/codex');
    expect(error.hint).toContain('codex login');

    const byName = codex(h, { bin: 'codex-not-installed-here' });
    const named = await modelFailure(byName.generate(request()), 'no_api_key');
    expect(named.message).toContain('on PATH');
    expect(h.runs()).toHaveLength(0);
  });

  it('finds `codex` on the PATH of its environment by default, and takes a relative PLANEXEC_CODEX_BIN from the server\'s folder', async () => {
    const h = home([], { text: 'ok' });
    mkdirSync(join(h.dir, 'bin'));
    symlinkSync(FAKE_CODEX, join(h.dir, 'bin', 'codex'));
    h.env.PATH = `${join(h.dir, 'bin')}:${h.env.PATH}`;
    expect((await codex(h, { bin: undefined }).generate(request())).text).toBe('ok');
    expect((await codex(h, { bin: relative(process.cwd(), FAKE_CODEX) }).generate(request())).text).toBe('ok');
    expect(execRuns(h)).toHaveLength(2);
  });

  it('a signed-out CLI seen by `codex login status`: auth, run `codex login`, and no exec at all', async () => {
    const h = home([{ text: 'never' }], undefined, { FAKE_CODEX_LOGIN: 'none' });
    const p = codex(h);
    const error = await modelFailure(p.generate(request()), 'auth');
    expect(error.message).toContain('Not logged in');
    expect(error.hint).toContain('codex login');
    expect(execRuns(h)).toHaveLength(0);
    // Not remembered: signing in while the server runs is enough.
    await modelFailure(p.generate(request()), 'auth');
    expect(h.runs().filter((r) => r.kind === 'login')).toHaveLength(2);
  });

  it.each([
    ['signed_out', 'auth', /codex login/],
    ['quota', 'quota', /PLANEXEC_PLANNER_PROVIDER/],
    ['rate_limit', 'rate_limit', /Wait a minute/],
    ['model', 'bad_request', /PLANEXEC_EXECUTOR_MODEL/],
    ['server', 'server', /Retry in a minute/],
  ] as const)('a %s turn: %s, not billed, with a hint', async (fail, reason, hint) => {
    const h = home([{ fail }]);
    const error = await modelFailure(codex(h).generate(request()), reason);
    expect(error.billed).toBe(false);
    expect(error.hint).toMatch(hint);
    expect(error.message.length).toBeGreaterThan(20);
  });

  it('a quota message quotes the CLI\'s own words (when the limit resets)', async () => {
    const h = home([{ fail: 'quota' }]);
    const error = await modelFailure(codex(h).generate(request()), 'quota');
    expect(error.message).toContain('try again at 8:55 PM');
  });

  it('a non-zero exit: failed with the end of stderr, redacted', async () => {
    const h = home([{ exit: 1, stderr: 'WARNING: proceeding, even though we could not create PATH aliases\nError: config broke near token sk-live-abcdef0123456789 and secret-value-42\n' }]);
    const error = await modelFailure(codex(h, { secrets: ['secret-value-42'] }).generate(request()), 'failed');
    expect(error.message).toContain('exited with code 1');
    expect(error.message).toContain('Error: config broke');
    expect(error.message).not.toContain('sk-live-abcdef0123456789');
    expect(error.message).not.toContain('secret-value-42');
    expect(error.message).not.toContain('PATH aliases');
    expect(error.billed).toBe(false);
  });

  it('exit 2 (flags refused): failed, with a hint to update the CLI', async () => {
    const h = home([{ exit: 2, stderr: "error: unexpected argument '--ignore-user-config' found\n" }]);
    const error = await modelFailure(codex(h).generate(request()), 'failed');
    expect(error.hint).toMatch(/update it/);
  });

  it('a turn that broke off without turn.completed: failed, billed', async () => {
    const h = home([{ exit: 1, stdout: '{"type":"thread.started","thread_id":"01a228df-2e07-7281-a769-cad02606aef9"}\n{"type":"turn.started"}\n' }]);
    const error = await modelFailure(codex(h).generate(request()), 'failed');
    expect(error.billed).toBe(true);
  });

  it('an empty answer: empty, billed with its usage', async () => {
    const h = home([{ text: '  ', usage: { input_tokens: 50, cached_input_tokens: 0, output_tokens: 1 } }]);
    const error = await modelFailure(codex(h).generate(request()), 'empty');
    expect(error.usage).toEqual({ input_tokens: 50, cached_tokens: 0, output_tokens: 1 });
  });

  it('a non-strict schema refused by the API: bad_request', async () => {
    const h = home([{ json: { a: 1 } }]);
    const loose = { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } }, required: ['a'], additionalProperties: false };
    const error = await modelFailure(codex(h).generate(planner({ format: { name: 'x', schema: loose } })), 'bad_request');
    expect(error.message).toContain("Missing 'b'");
  });
});

describe('stopping a CLI', () => {
  async function hanging(h: FakeCodexHome) {
    return waitFor(() => h.runs().find((r) => r.grandchild_pid !== undefined));
  }

  it('cancel kills the whole process group (the CLI and what it started): aborted', async () => {
    const h = home([{ hang: true }]);
    const p = codex(h);
    const controller = new AbortController();
    const pending = p.generate(request({ signal: controller.signal }));
    const run = await hanging(h);
    expect(processGone(run.grandchild_pid!)).toBe(false);
    controller.abort();
    const error = await modelFailure(pending, 'aborted');
    expect(error.code).toBe('cancelled');
    expect(processGone(run.pid)).toBe(true);
    await waitFor(() => (processGone(run.grandchild_pid!) ? true : undefined));
    expect(p.running).toBe(0);
  });

  it('a CLI that ignores SIGTERM is killed after the grace', async () => {
    const h = home([{ hang: { ignoreSigterm: true } }]);
    const controller = new AbortController();
    const pending = codex(h, { killGraceMs: 100 }).generate(request({ signal: controller.signal }));
    const run = await hanging(h);
    controller.abort();
    await modelFailure(pending, 'aborted');
    expect(processGone(run.pid)).toBe(true);
    await waitFor(() => (processGone(run.grandchild_pid!) ? true : undefined));
  });

  it('the timeout kills the group: timeout, billed, naming PLANEXEC_MODEL_TIMEOUT_MS', async () => {
    const h = home([{ text: 'warm' }, { hang: true }]);
    const p = codex(h, { timeoutMs: 3_000 });
    await p.generate(request()); // the sign-in check is done: the timeout below bounds the CLI alone
    const error = await modelFailure(p.generate(request()), 'timeout');
    const run = h.runs().find((r) => r.grandchild_pid !== undefined)!;
    expect(error.billed).toBe(true);
    expect(error.message).toContain('PLANEXEC_MODEL_TIMEOUT_MS');
    expect(processGone(run.pid)).toBe(true);
    await waitFor(() => (processGone(run.grandchild_pid!) ? true : undefined));
  });

  it('killAll (server stop) ends every running CLI', async () => {
    const h = home([], { hang: true });
    const p = codex(h);
    const calls = [p.generate(request()), p.generate(request())].map((c) => modelFailure(c, 'aborted'));
    await waitFor(() => (h.runs().filter((r) => r.grandchild_pid !== undefined).length === 2 ? true : undefined));
    const runs = h.runs().filter((r) => r.grandchild_pid !== undefined);
    await p.killAll();
    await Promise.all(calls);
    for (const r of runs) {
      expect(processGone(r.pid)).toBe(true);
      await waitFor(() => (processGone(r.grandchild_pid!) ? true : undefined));
    }
  });
});

describe('through the core: the planner on Codex, the executor on Chat Completions', () => {
  it('plans on a new Codex thread, executes on the chat server, and reviews by resuming the thread; usage per call in the journal', async () => {
    const PLAN = plan([{ id: 's1' }]);
    const h = home([
      { json: PLAN, usage: { input_tokens: 2000, cached_input_tokens: 0, output_tokens: 100 } },
      { json: { verdict: 'approve', reviews: [{ subtask_id: 's1', verdict: 'approve', feedback: '' }], summary: 'Done.' }, usage: { input_tokens: 2500, cached_input_tokens: 2000, output_tokens: 40 } },
    ]);
    const standin = await startOpenAIStandin({ responder: workflowResponder(PLAN) });
    const d = await makeDeps({ files: { 'src/a.ts': 'export const a = 1;' } });
    try {
      const deps: CoreDeps = { ...d, models: { planner: codex(h), executor: new OpenAIChatProvider({ apiKey: undefined, baseURL: standin.baseURL, timeoutMs: 10_000, maxRetries: 0 }) } };
      const planned = await planTask(deps, { request: 'Add a login page' });
      const executed = await executeSubtask(deps, { workflow_id: planned.workflow_id, subtask_id: 's1' });
      const reviewed = await reviewResults(deps, { workflow_id: planned.workflow_id });

      expect(executed.output).toBe('OUTPUT-OF-s1');
      expect(reviewed.verdict).toBe('approve');
      expect(standin.requests.map((r) => r.endpoint)).toEqual(['chat.completions']);
      const [planRun, reviewRun] = execRuns(h);
      expect(execRuns(h)).toHaveLength(2);
      expect(planRun!.argv[planRun!.argv.indexOf('-m') + 1]).toBe('gpt-5.4');
      expect(planRun!.argv).toContain('--output-schema');
      expect(reviewRun!.argv.slice(-3)).toEqual(['resume', planRun!.thread_id, '-']);
      expect(reviewRun!.stdin).toContain('s1');

      const calls = await d.store.calls.list(planned.workflow_id);
      expect(calls.map((c) => [c.purpose, c.role, c.usage])).toEqual([
        ['plan', 'planner', { input_tokens: 2000, cached_tokens: 0, output_tokens: 100 }],
        ['execute', 'executor', expect.objectContaining({ input_tokens: standin.requests[0]!.usage!.inputTokens })],
        ['review', 'planner', { input_tokens: 2500, cached_tokens: 2000, output_tokens: 40 }],
      ]);
      expect(calls.every((c) => !c.usageEstimated)).toBe(true);
    } finally {
      await d.close();
      await standin.close();
    }
  });
});

describe('the factory', () => {
  it('builds each kind, and describes what each offers for the docs', () => {
    const made = PROVIDER_KINDS.map((kind) => createModelProvider(kind, { timeoutMs: 1000, apiKey: 'k', baseURL: 'http://127.0.0.1:9/v1', codexBin: FAKE_CODEX }));
    expect(made.map((m) => [m.kind, m.provider.capabilities.serverThreads, m.provider.capabilities.promptCacheControls])).toEqual([
      ['responses', true, true],
      ['chat', false, false],
      ['codex', true, false],
    ]);
    for (const kind of PROVIDER_KINDS) expect(Object.values(PROVIDER_SETTINGS[kind]).every((text) => text.length > 0)).toBe(true);
    for (const m of made) m.stopNow();
  });
});

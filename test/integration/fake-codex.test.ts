// The fake Codex CLI run as a real process (argv array, prompt on stdin), its output read with the
// adapter's parser: the scenarios the codex provider will meet, end to end but without a model.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { codexExecArgs } from '../../src/adapters/codex/codex-args.js';
import { classifyCodexFailure, codexCallFailure, parseCodexEvents, usageSince } from '../../src/adapters/codex/codex-events.js';
import { toStrictJsonSchema } from '../../src/core/json-schema.js';
import { PlanSchema } from '../../src/core/plan.js';
import { FAKE_CODEX, fakeCodexHome, processGone, waitFor, type FakeCodexHome } from '../support/fake-codex-kit.js';

interface Finished {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

function runFake(home: FakeCodexHome, args: string[], stdin: string | null): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(FAKE_CODEX, args, { cwd: home.dir, env: home.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ stdout, stderr, code, signal }));
    if (stdin !== null) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

const homes: FakeCodexHome[] = [];
function home(...args: Parameters<typeof fakeCodexHome>): FakeCodexHome {
  const h = fakeCodexHome(...args);
  homes.push(h);
  return h;
}
afterEach(() => {
  for (const h of homes.splice(0)) h.cleanup();
});

const args = (h: FakeCodexHome, extra: Partial<Parameters<typeof codexExecArgs>[0]> = {}) =>
  codexExecArgs({ model: 'gpt-5.4-mini', cwd: h.workdir, sandbox: 'read-only', ...extra });

describe('fake codex exec --json', () => {
  it('answers a prompt read from stdin with the events the CLI prints, and logs what it was sent', async () => {
    const h = home([{ text: 'the answer', reasoning: 'thinking', usage: { input_tokens: 900, cached_input_tokens: 0, output_tokens: 12, reasoning_output_tokens: 4 } }]);
    const argv = args(h, { developerInstructions: 'You are the executor.' });
    const done = await runFake(h, argv, 'Do the subtask.');

    expect(done.code).toBe(0);
    const run = parseCodexEvents(done.stdout);
    expect(run.status).toBe('completed');
    expect(run.text).toBe('the answer');
    expect(run.usage).toEqual({ input_tokens: 900, cached_tokens: 0, output_tokens: 12, reasoning_tokens: 4 });
    expect(run.threadId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(codexCallFailure(run, done.stderr, done.code)).toBeNull();

    const [logged] = h.runs();
    expect(logged!.argv).toEqual(argv);
    expect(logged!.stdin).toBe('Do the subtask.');
    expect(logged!.thread_id).toBe(run.threadId);
    expect(logged!.config).toMatchObject({ developer_instructions: 'You are the executor.', 'features.shell_tool': false, web_search: 'disabled' });
    expect(logged!.env).toEqual(Object.keys(h.env).sort());
    // Spawned without `detached`, it shares the test's process group instead of leading its own.
    expect(logged!.pgid).toEqual(expect.any(Number));
    expect(logged!.pgid).not.toBe(logged!.pid);
  });

  it('answers with JSON that fits the strict schema planexec sends for plans', async () => {
    const plan = {
      subtasks: [{ id: 's1', title: 'Parse', description: 'Write the parser.', depends_on: [], complexity: 'routine', output_format: 'a unified diff', relevant_files: ['src/a.ts'], writes: ['src/a.ts'], checks: ['npm test'] }],
      coordination_notes: 'One step.',
    };
    const h = home([{ json: plan }]);
    const schemaFile = join(h.dir, 'plan.schema.json');
    writeFileSync(schemaFile, JSON.stringify(toStrictJsonSchema(PlanSchema)));
    const done = await runFake(h, args(h, { outputSchemaPath: schemaFile }), 'Plan it.');

    expect(done.code).toBe(0);
    expect(JSON.parse(parseCodexEvents(done.stdout).text!)).toEqual(plan);
  });

  it('fails the turn with the API message when the output schema is not strict', async () => {
    const h = home([{ json: { a: 1 } }]);
    const schemaFile = join(h.dir, 'loose.json');
    writeFileSync(schemaFile, JSON.stringify({ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } }, required: ['a'], additionalProperties: false }));
    const done = await runFake(h, args(h, { outputSchemaPath: schemaFile }), 'x');

    expect(done.code).toBe(1);
    const failure = codexCallFailure(parseCodexEvents(done.stdout), done.stderr, done.code);
    expect(failure?.kind).toBe('failed');
    expect(failure?.message).toContain("Invalid schema for response_format 'codex_output_schema'");
    expect(failure?.message).toContain("Missing 'b'");
  });

  it('refuses a scripted JSON answer that does not fit the schema, so a wrong test script shows', async () => {
    const h = home([{ json: { a: 'not an integer' } }]);
    const schemaFile = join(h.dir, 's.json');
    writeFileSync(schemaFile, JSON.stringify({ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'], additionalProperties: false }));
    const done = await runFake(h, args(h, { outputSchemaPath: schemaFile }), 'x');
    expect(done.code).toBe(3);
    expect(done.stderr).toContain('$.a should be integer, got string');
  });

  it('continues a stored thread on resume: same id, the earlier prompts seen, running usage totals', async () => {
    const h = home([
      { text: 'first answer', usage: { input_tokens: 1000, cached_input_tokens: 0, output_tokens: 10 } },
      { echo: true, usage: { input_tokens: 1100, cached_input_tokens: 1000, output_tokens: 20 } },
    ]);
    const first = parseCodexEvents((await runFake(h, args(h, { model: 'gpt-5.4', developerInstructions: 'You plan.' }), 'first prompt')).stdout);
    const done = await runFake(h, args(h, { model: 'gpt-5.4', resumeThreadId: first.threadId! }), 'second prompt');
    const second = parseCodexEvents(done.stdout);

    expect(done.code).toBe(0);
    expect(second.threadId).toBe(first.threadId);
    expect(JSON.parse(second.text!)).toEqual({ prompts: ['first prompt', 'second prompt'], developer_instructions: 'You plan.', model: 'gpt-5.4', resumed: true });
    expect(second.usage).toEqual({ input_tokens: 2100, cached_tokens: 1000, output_tokens: 30, reasoning_tokens: 0 });
    expect(usageSince(second.usage!, first.usage)).toEqual({ input_tokens: 1100, cached_tokens: 1000, output_tokens: 20, reasoning_tokens: 0 });
    expect(h.runs().map((r) => r.resumed)).toEqual([false, true]);
  });

  it('cannot resume an ephemeral thread: exit 1 and the no-rollout message, read as a missing thread', async () => {
    const h = home([{ text: 'once' }], { text: 'never sent' });
    const first = parseCodexEvents((await runFake(h, args(h, { ephemeral: true }), 'p')).stdout);
    const done = await runFake(h, args(h, { resumeThreadId: first.threadId! }), 'again');

    expect(done.code).toBe(1);
    expect(done.stdout).toBe('');
    expect(codexCallFailure(parseCodexEvents(done.stdout), done.stderr, done.code)).toEqual({
      kind: 'thread_missing',
      message: `Error: thread/resume: thread/resume failed: no rollout found for thread id ${first.threadId} (code -32600)`,
    });
  });

  it.each([
    ['signed_out', 5],
    ['quota', 0],
    ['rate_limit', 5],
    ['model', 0],
  ] as const)('fails a %s call as the CLI does: turn.failed, exit 1, the right kind', async (kind, retries) => {
    const h = home([{ fail: kind }]);
    const done = await runFake(h, args(h), 'x');
    const run = parseCodexEvents(done.stdout);

    expect(done.code).toBe(1);
    expect(run.status).toBe('failed');
    expect(run.warnings).toHaveLength(retries);
    expect(codexCallFailure(run, done.stderr, done.code)?.kind).toBe(kind);
  });

  it('passes a raw non-zero exit and its stderr through', async () => {
    const h = home([{ exit: 2, stderr: "error: unexpected argument '--frobnicate' found\n" }]);
    const done = await runFake(h, args(h), 'x');
    expect(done.code).toBe(2);
    expect(codexCallFailure(parseCodexEvents(done.stdout), done.stderr, done.code)).toEqual({ kind: 'failed', message: "error: unexpected argument '--frobnicate' found" });
  });

  it('reads the answer past a malformed line and retry notices', async () => {
    const h = home([{ text: 'still fine', malformed: '<<not json>>', retries: 2, warnings: ['Model metadata for `gpt-5.4-mini` not found.'] }]);
    const done = await runFake(h, args(h), 'x');
    const run = parseCodexEvents(done.stdout);
    expect(run.text).toBe('still fine');
    expect(run.malformed).toEqual(['<<not json>>']);
    expect(run.warnings).toHaveLength(3);
  });

  it('hangs until killed, and killing its process group ends the grandchild too', async () => {
    const h = home([{ hang: { ignoreSigterm: true } }]);
    const child = spawn(FAKE_CODEX, args(h), { cwd: h.dir, env: h.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    const closed = new Promise<NodeJS.Signals | null>((r) => child.on('close', (_code, signal) => r(signal)));
    child.stdin.end('wait forever');

    const logged = await waitFor(() => h.runs().find((r) => r.grandchild_pid !== undefined));
    expect(logged.pgid).toBe(child.pid);
    const grandchild = logged.grandchild_pid!;
    expect(processGone(grandchild)).toBe(false);

    process.kill(-child.pid!, 'SIGTERM');
    await waitFor(() => (processGone(grandchild) ? true : undefined));
    expect(processGone(child.pid!)).toBe(false); // this fake ignores SIGTERM, as a stuck CLI might
    process.kill(-child.pid!, 'SIGKILL');
    expect(await closed).toBe('SIGKILL');

    const run = parseCodexEvents(stdout);
    expect(run.status).toBe('incomplete');
    expect(run.threadId).toBe(logged.thread_id);
    expect(codexCallFailure(run, '', null)?.message).toBe('The Codex CLI was ended by a signal without printing a reason.');
  });

  it('gives each of several concurrent runs its own reply', async () => {
    const h = home([{ text: 'a' }, { text: 'b' }, { text: 'c' }, { text: 'd' }]);
    const done = await Promise.all(['1', '2', '3', '4'].map((p) => runFake(h, args(h, { ephemeral: true }), p)));
    expect(done.map((d) => parseCodexEvents(d.stdout).text).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(h.runs().map((r) => r.call).sort()).toEqual([0, 1, 2, 3]);
  });

  it('fails with exit 3 when the script has no reply left', async () => {
    const h = home([]);
    const done = await runFake(h, args(h), 'x');
    expect(done.code).toBe(3);
    expect(done.stderr).toContain('no reply for call #0');
  });

  it('rejects options after resume that the real resume subcommand rejects', async () => {
    const h = home([], { text: 'unused' });
    const done = await runFake(h, ['exec', '--json', 'resume', '--sandbox', 'read-only', '01a228e0-e31a-70f1-a986-5e0ad671d9ff', '-'], 'x');
    expect(done.code).toBe(2);
    expect(done.stderr).toContain("unexpected argument '--sandbox' found");
    expect(h.runs()).toEqual([]);
  });

  it('requires --skip-git-repo-check outside a git repository', async () => {
    const h = home([], { text: 'unused' });
    const done = await runFake(h, ['exec', '--json', '-C', h.workdir, '-'], 'x');
    expect(done.code).toBe(1);
    expect(classifyCodexFailure(done.stderr, done.code)?.message).toBe('Not inside a trusted directory and --skip-git-repo-check was not specified.');
  });
});

describe('fake codex login status', () => {
  it('reports a ChatGPT sign-in with exit 0 and a signed-out CLI with exit 1', async () => {
    const h = home();
    const signedIn = await runFake(h, ['login', 'status'], null);
    expect(signedIn.code).toBe(0);
    expect(signedIn.stderr).toBe('Logged in using ChatGPT\n');

    h.env.FAKE_CODEX_LOGIN = 'none';
    const signedOut = await runFake(h, ['login', 'status'], null);
    expect(signedOut.code).toBe(1);
    expect(classifyCodexFailure(signedOut.stderr, signedOut.code)?.kind).toBe('signed_out');
  });
});

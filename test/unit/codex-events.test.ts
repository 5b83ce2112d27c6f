// The reading of `codex exec --json` output and the exec argument list. Event lines are shaped exactly
// as codex-cli 0.171.0 printed them against a local Responses stand-in (docs/research/codex-exec.md).
import { describe, expect, it } from 'vitest';
import { codexExecArgs, tomlString } from '../../src/adapters/codex/codex-args.js';
import {
  classifyCodexFailure,
  classifyCodexMessage,
  codexCallFailure,
  CodexEventReader,
  parseCodexEvents,
  usageSince,
} from '../../src/adapters/codex/codex-events.js';

const lines = (...events: string[]) => `${events.join('\n')}\n`;

const THREAD = '01a228df-2e07-7281-a769-cad02606aef9';
const STARTED = `{"type":"thread.started","thread_id":"${THREAD}"}`;
const TURN = '{"type":"turn.started"}';
const METADATA_WARNING =
  '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `gpt-5.4` not found. Defaulting to fallback metadata; this can degrade performance and cause issues."}}';
const REASONING = '{"type":"item.completed","item":{"id":"item_1","type":"reasoning","text":"**Thinking** about it"}}';
const ANSWER = '{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"hello from standin #1"}}';
const COMPLETED =
  '{"type":"turn.completed","usage":{"input_tokens":1001,"cached_input_tokens":512,"cache_write_input_tokens":0,"output_tokens":20,"reasoning_output_tokens":7}}';
const SUCCESS = lines(STARTED, METADATA_WARNING, TURN, REASONING, ANSWER, COMPLETED);

const failedWith = (message: string, ...before: string[]) =>
  lines(STARTED, TURN, ...before, JSON.stringify({ type: 'error', message }), JSON.stringify({ type: 'turn.failed', error: { message } }));

describe('parseCodexEvents', () => {
  it('reads the thread id, the answer and the usage of a completed turn', () => {
    const run = parseCodexEvents(SUCCESS);
    expect(run.threadId).toBe(THREAD);
    expect(run.status).toBe('completed');
    expect(run.text).toBe('hello from standin #1');
    expect(run.usage).toEqual({ input_tokens: 1001, cached_tokens: 512, output_tokens: 20, reasoning_tokens: 7 });
    expect(run.error).toBeNull();
    expect(run.items.map((i) => i.type)).toEqual(['error', 'reasoning', 'agent_message']);
    expect(run.warnings).toEqual(['Model metadata for `gpt-5.4` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.']);
    expect(run.malformed).toEqual([]);
  });

  it('reads the usage of older CLIs that report only three counts', () => {
    const run = parseCodexEvents(lines(STARTED, TURN, ANSWER, '{"type":"turn.completed","usage":{"input_tokens":24763,"cached_input_tokens":24448,"output_tokens":122}}'));
    expect(run.usage).toEqual({ input_tokens: 24763, cached_tokens: 24448, output_tokens: 122, reasoning_tokens: 0 });
  });

  it('gives the structured answer as the JSON text the agent message carries', () => {
    const run = parseCodexEvents(
      lines(STARTED, TURN, '{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"{\\"answer\\":\\"forty-two\\",\\"score\\":3}"}}', COMPLETED),
    );
    expect(JSON.parse(run.text!)).toEqual({ answer: 'forty-two', score: 3 });
  });

  it('takes the last agent message as the answer and keeps tool items in order', () => {
    const run = parseCodexEvents(
      lines(
        STARTED,
        TURN,
        '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"Let me look."}}',
        `{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > written.txt; ls'","aggregated_output":"","exit_code":null,"status":"in_progress"}}`,
        `{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'echo hi > written.txt; ls'","aggregated_output":"/bin/bash: line 1: written.txt: Read-only file system\\nerr.txt\\n","exit_code":0,"status":"completed"}}`,
        '{"type":"item.started","item":{"id":"item_2","type":"web_search","id":"ws_1","query":"codex exec json","action":{"type":"search","query":"codex exec json"}}}',
        '{"type":"item.completed","item":{"id":"item_2","type":"web_search","id":"ws_1","query":"codex exec json","action":{"type":"search","query":"codex exec json"}}}',
        '{"type":"item.plan.delta","item_id":"item_9","delta":"a newer event type"}',
        '{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"done"}}',
        COMPLETED,
      ),
    );
    expect(run.text).toBe('done');
    expect(run.items.map((i) => i.type)).toEqual(['agent_message', 'command_execution', 'web_search', 'agent_message']);
    const command = run.items[1] as { aggregated_output: string; exit_code: number | null };
    expect(command.aggregated_output).toContain('Read-only file system');
    expect(command.exit_code).toBe(0);
    // The CLI prints "id" twice on web_search items; JSON.parse keeps the second (the raw id).
    expect(run.items[2]!.id).toBe('ws_1');
  });

  it('classifies an exhausted subscription as quota, whichever apostrophe the CLI prints', () => {
    const typographic = parseCodexEvents(
      failedWith('You\u2019ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 8:55 PM.'),
    );
    expect(typographic.status).toBe('failed');
    expect(typographic.error).toEqual({
      kind: 'quota',
      message: 'You\u2019ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 8:55 PM.',
    });
    expect(parseCodexEvents(failedWith("You've hit your usage limit. Try again later.")).error?.kind).toBe('quota');
    expect(parseCodexEvents(failedWith('To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus.')).error?.kind).toBe('quota');
    expect(parseCodexEvents(failedWith('Quota exceeded. Check your plan and billing details.')).error?.kind).toBe('quota');
  });

  it('classifies a 401 after the retries as signed out and keeps the retry notices as warnings', () => {
    const message = 'unexpected status 401 Unauthorized: Missing bearer or basic authentication in header, url: http://127.0.0.1:18080/v1/responses, request id: req_13';
    const retry = JSON.stringify({ type: 'error', message: `Reconnecting... 5/5 (${message.replace('req_13', 'req_12')})` });
    const run = parseCodexEvents(failedWith(message, retry));
    expect(run.error).toEqual({ kind: 'signed_out', message });
    expect(run.warnings).toHaveLength(1);
    expect(run.warnings[0]).toMatch(/^Reconnecting\.\.\. 5\/5/);
  });

  it('classifies 429s and failed responses as rate limits', () => {
    expect(parseCodexEvents(failedWith('exceeded retry limit, last status: 429 Too Many Requests, request id: req_19')).error?.kind).toBe('rate_limit');
    expect(parseCodexEvents(failedWith('rate limit exceeded: Rate limit reached for requests. Please try again in 1.5s.')).error?.kind).toBe('rate_limit');
    expect(parseCodexEvents(failedWith('Selected model is at capacity. Please try a different model.')).error?.kind).toBe('rate_limit');
  });

  it('classifies an unknown or unoffered model as a model error', () => {
    expect(parseCodexEvents(failedWith("The model 'gpt-nope' does not exist or you do not have access to it.")).error?.kind).toBe('model');
    const websocket = JSON.stringify({
      type: 'error',
      status: 400,
      error: { type: 'invalid_request_error', message: "The 'gpt-5.3-codex' model is not supported when using Codex with a ChatGPT account." },
    });
    expect(parseCodexEvents(failedWith(websocket)).error?.kind).toBe('model');
  });

  it('classifies other failures as failed, with the CLI message', () => {
    const run = parseCodexEvents(failedWith('We\u2019re currently experiencing high demand, which may cause temporary errors.'));
    expect(run.error).toEqual({ kind: 'failed', message: 'We\u2019re currently experiencing high demand, which may cause temporary errors.' });
  });

  it('uses the last error event when the stream ends without turn.failed', () => {
    const run = parseCodexEvents(lines(STARTED, TURN, '{"type":"error","message":"exceeded retry limit, last status: 429 Too Many Requests"}'));
    expect(run.status).toBe('incomplete');
    expect(run.error).toEqual({ kind: 'rate_limit', message: 'exceeded retry limit, last status: 429 Too Many Requests' });
  });

  it('does not take retry notices for a failure when the run was cut short', () => {
    const run = parseCodexEvents(
      lines(STARTED, TURN, '{"type":"error","message":"Reconnecting... waiting for network (Connection failed: error sending request)"}'),
    );
    expect(run.status).toBe('incomplete');
    expect(run.error).toBeNull();
    expect(run.text).toBeNull();
    expect(run.usage).toBeNull();
  });

  it('keeps malformed lines aside and reads the rest', () => {
    const run = parseCodexEvents(lines(STARTED, TURN, 'not json at all', '{"no":"type"}', '[1,2]', '{"type":"item.completed","item":"x"}', ANSWER, COMPLETED));
    expect(run.text).toBe('hello from standin #1');
    expect(run.status).toBe('completed');
    expect(run.malformed).toEqual(['not json at all', '{"no":"type"}', '[1,2]', '{"type":"item.completed","item":"x"}']);
  });

  it('keeps at most five malformed lines, each cut to 200 characters', () => {
    const junk = Array.from({ length: 8 }, (_, i) => `junk ${i} ${'x'.repeat(300)}`);
    const run = parseCodexEvents(lines(...junk, STARTED));
    expect(run.malformed).toHaveLength(5);
    expect(run.malformed[0]).toHaveLength(200);
    expect(run.threadId).toBe(THREAD);
  });
});

describe('CodexEventReader', () => {
  it('reads the same run from chunks split anywhere, a last line without newline and CRLF included', () => {
    const text = SUCCESS.replace(/\n/g, '\r\n').replace(/\r\n$/, '');
    const reader = new CodexEventReader();
    for (const ch of text) reader.feed(ch);
    expect(reader.end()).toEqual(parseCodexEvents(SUCCESS));
  });
});

describe('usageSince', () => {
  it('subtracts the totals recorded after the previous turn of the thread', () => {
    const previous = { input_tokens: 1054, cached_tokens: 512, output_tokens: 20, reasoning_tokens: 7 };
    const total = { input_tokens: 2109, cached_tokens: 1024, output_tokens: 40, reasoning_tokens: 14 };
    expect(usageSince(total, previous)).toEqual({ input_tokens: 1055, cached_tokens: 512, output_tokens: 20, reasoning_tokens: 7 });
  });

  it('returns the totals whole for a new thread or when they went down', () => {
    const total = { input_tokens: 10, cached_tokens: 0, output_tokens: 2, reasoning_tokens: 0 };
    expect(usageSince(total, null)).toEqual(total);
    expect(usageSince(total, { input_tokens: 50, cached_tokens: 0, output_tokens: 1, reasoning_tokens: 0 })).toEqual(total);
  });
});

describe('classifyCodexFailure', () => {
  it('sees no failure in exit code 0', () => {
    expect(classifyCodexFailure('Reading prompt from stdin...\n', 0)).toBeNull();
  });

  it('reports a missing stored thread without the Rust backtrace', () => {
    const stderr = [
      'Error: thread/resume: thread/resume failed: no rollout found for thread id 01a228e1-0060-7d11-94e9-c2348a20f1fb (code -32600)',
      '',
      'Stack backtrace:',
      '   0: <unknown>',
      '   1: <unknown>',
    ].join('\n');
    expect(classifyCodexFailure(stderr, 1)).toEqual({
      kind: 'thread_missing',
      message: 'Error: thread/resume: thread/resume failed: no rollout found for thread id 01a228e1-0060-7d11-94e9-c2348a20f1fb (code -32600)',
    });
  });

  it('leaves out PATH-alias warnings, stdin notices, colour codes and log lines when there is a plain reason', () => {
    const stderr = [
      'WARNING: proceeding, even though we could not create PATH aliases: Refusing to create helper binaries under temporary dir "/tmp" (codex_home: AbsolutePathBuf("/tmp/h"))',
      'Reading prompt from stdin...',
      '2026-11-29T19:54:46.623739Z ERROR codex_api::endpoint::responses_websocket: failed to connect to Responses WebSocket stage=Unknown',
      '\u001b[31merror: unexpected argument \'--sandbox\' found\u001b[0m',
    ].join('\n');
    expect(classifyCodexFailure(stderr, 2)).toEqual({ kind: 'failed', message: "error: unexpected argument '--sandbox' found" });
  });

  it('falls back to log lines when they are all there is', () => {
    const stderr = '2026-11-29T19:54:46.623739Z ERROR codex_login: Your access token could not be refreshed. Please log out and sign in again.\n';
    expect(classifyCodexFailure(stderr, 1)?.kind).toBe('signed_out');
  });

  it('recognises the signed-out answer of codex login status', () => {
    expect(classifyCodexFailure('Not logged in\n', 1)).toEqual({ kind: 'signed_out', message: 'Not logged in' });
  });

  it('says so when the process ended by a signal without a word', () => {
    expect(classifyCodexFailure('', null)).toEqual({ kind: 'failed', message: 'The Codex CLI was ended by a signal without printing a reason.' });
    expect(classifyCodexFailure('\n', 7)).toEqual({ kind: 'failed', message: 'The Codex CLI exited with code 7 without printing a reason.' });
  });

  it('cuts long messages to 600 characters', () => {
    const message = classifyCodexFailure(`boom ${'y'.repeat(2000)}`, 1)!.message;
    expect(message).toHaveLength(600);
    expect(message.endsWith('…')).toBe(true);
  });
});

describe('classifyCodexMessage', () => {
  it('puts a 401 reached through the retry limit under signed out, not rate limit', () => {
    expect(classifyCodexMessage('exceeded retry limit, last status: 401 Unauthorized, request id: 9a5793386e39fede-SIN')).toBe('signed_out');
  });

  it('puts a usage limit sent as HTTP 429 under quota, not rate limit', () => {
    expect(classifyCodexMessage("unexpected status 429 Too Many Requests: You've hit your usage limit. Try again later.")).toBe('quota');
  });

  it('puts a model error reported with status 404 under model, and a 401 on resume under signed out', () => {
    expect(classifyCodexMessage("unexpected status 404 Not Found: The model 'gpt-nope' does not exist or you do not have access to it.")).toBe('model');
    expect(classifyCodexMessage('thread/resume failed: unexpected status 401 Unauthorized')).toBe('signed_out');
  });

  it('recognises the token refresh failures as signed out', () => {
    expect(classifyCodexMessage('Your access token could not be refreshed because your refresh token has expired. Please log out and sign in again.')).toBe('signed_out');
  });

  it('does not read a 429 inside a request id as a rate limit', () => {
    expect(classifyCodexMessage('stream disconnected before completion, request id: req_4290ab')).toBe('failed');
  });
});

describe('codexCallFailure', () => {
  it('is null for a completed turn with an answer and exit code 0', () => {
    expect(codexCallFailure(parseCodexEvents(SUCCESS), '', 0)).toBeNull();
  });

  it('prefers the reason in the event stream to the exit code', () => {
    const run = parseCodexEvents(failedWith("You've hit your usage limit. Try again later."));
    expect(codexCallFailure(run, 'some stderr', 1)?.kind).toBe('quota');
  });

  it('falls back to stderr when the stream has no reason', () => {
    expect(codexCallFailure(parseCodexEvents(''), 'Not inside a trusted directory and --skip-git-repo-check was not specified.\n', 1)).toEqual({
      kind: 'failed',
      message: 'Not inside a trusted directory and --skip-git-repo-check was not specified.',
    });
  });

  it('fails a run that exited 0 without finishing the turn or without an answer', () => {
    expect(codexCallFailure(parseCodexEvents(lines(STARTED, TURN)), '', 0)?.message).toMatch(/without finishing the turn/);
    expect(codexCallFailure(parseCodexEvents(lines(STARTED, TURN, REASONING, COMPLETED)), '', 0)?.message).toMatch(/without an answer/);
  });
});

describe('codexExecArgs', () => {
  const base = { model: 'gpt-5.4', cwd: '/tmp/empty', sandbox: 'read-only' as const };

  it('starts a new thread read-only, without tools or user config, reading the prompt from stdin', () => {
    expect(codexExecArgs(base)).toEqual([
      'exec',
      '--json',
      '--color',
      'never',
      '--skip-git-repo-check',
      '--sandbox',
      'read-only',
      '-C',
      '/tmp/empty',
      '-m',
      'gpt-5.4',
      '--ignore-user-config',
      '-c',
      'features.shell_tool=false',
      '-c',
      'features.multi_agent=false',
      '-c',
      'features.goals=false',
      '-c',
      'web_search="disabled"',
      '-',
    ]);
  });

  it('puts every option before resume and ends with the thread id and -', () => {
    const args = codexExecArgs({ ...base, resumeThreadId: THREAD, outputSchemaPath: '/tmp/s.json', reasoningEffort: 'high' });
    expect(args.slice(-3)).toEqual(['resume', THREAD, '-']);
    expect(args.indexOf('--sandbox')).toBeLessThan(args.indexOf('resume'));
    expect(args.indexOf('-C')).toBeLessThan(args.indexOf('resume'));
    expect(args).toContain('--output-schema');
    expect(args[args.indexOf('--output-schema') + 1]).toBe('/tmp/s.json');
    expect(args).toContain('model_reasoning_effort="high"');
  });

  it('passes developer instructions as a TOML string the CLI reads back unchanged', () => {
    const text = 'Plan carefully.\n"Quote" and \\backslash\\ and a tab\t.';
    const args = codexExecArgs({ ...base, developerInstructions: text, ephemeral: true });
    const at = args.findIndex((a) => a.startsWith('developer_instructions='));
    expect(args[at - 1]).toBe('-c');
    const override = args[at]!;
    expect(JSON.parse(override.slice('developer_instructions='.length))).toBe(text);
    expect(args).toContain('--ephemeral');
  });

  it('leaves tools and the user config alone when asked to, and adds extra overrides last', () => {
    const args = codexExecArgs({ ...base, disableTools: false, ignoreUserConfig: false, config: ['model_providers.x.base_url="http://127.0.0.1:1/v1"'] });
    expect(args).not.toContain('--ignore-user-config');
    expect(args.some((a) => a.startsWith('features.'))).toBe(false);
    expect(args.slice(-3)).toEqual(['-c', 'model_providers.x.base_url="http://127.0.0.1:1/v1"', '-']);
  });

  it('refuses a writable sandbox, an empty model and a thread id that looks like a flag', () => {
    expect(() => codexExecArgs({ ...base, sandbox: 'workspace-write' as 'read-only' })).toThrow(/read-only/);
    expect(() => codexExecArgs({ ...base, model: ' ' })).toThrow(/model/);
    expect(() => codexExecArgs({ ...base, resumeThreadId: '--last' })).toThrow(/thread id/);
    expect(() => codexExecArgs({ ...base, resumeThreadId: '' })).toThrow(/thread id/);
  });
});

describe('tomlString', () => {
  it('escapes quotes, backslashes and control characters and replaces lone surrogates', () => {
    expect(tomlString('a "b" \\ c\n')).toBe('"a \\"b\\" \\\\ c\\n"');
    expect(tomlString('x\u0007y')).toBe('"x\\u0007y"');
    expect(JSON.parse(tomlString('bad \ud800 end'))).toBe('bad \ufffd end');
    expect(JSON.parse(tomlString('ok \ud83d\ude00'))).toBe('ok \ud83d\ude00');
  });
});

#!/usr/bin/env node
// A stand-in for the Codex CLI in tests: behaves as `codex exec --json` (and `codex login status`) does
// for the calls planexec makes, answering from a script. No dependencies. Behaviour, flags and message
// texts follow codex-cli 0.171.0 (docs/research/codex-exec.md).
//
// Environment:
//   FAKE_CODEX_SCRIPT  JSON file: an array of replies, or { "replies": [...], "default": {...} }.
//                      Each `exec` run takes the next reply (a per-run counter file, created with O_EXCL,
//                      so concurrent runs never share one); when the queue is used up, `default` answers,
//                      or the run fails with exit 3.
//   FAKE_CODEX_STATE   Folder for the counter and threads (default: "<script>.state").
//   FAKE_CODEX_THREADS Folder for stored threads (default: "<state>/threads"); `exec resume` reads it.
//   FAKE_CODEX_LOG     JSONL file; every run appends { kind, argv, cwd, stdin, env (names only), pid,
//                      ppid, pgid, call, thread_id, resumed, config, grandchild_pid }.
//   FAKE_CODEX_LOGIN   What `codex login status` reports: chatgpt (default) | api_key | none.
//
// A reply (all fields optional except one answer or failure):
//   text: "..."              the answer
//   json: {...}              the answer as JSON; checked against --output-schema when one is given
//   echo: true               answers JSON { prompts, developer_instructions, model, resumed }: what the
//                            thread "sees" (all user prompts so far, this one included)
//   reasoning: "..."         a reasoning item before the answer
//   commands: [{ command, output, exit_code }]   command_execution items before the answer
//   warnings: ["..."]        error items (non-fatal notices) before turn.started
//   retries: n               n "Reconnecting..." error events before the answer
//   malformed: "..."         a raw non-JSON line in the stream (the run still completes)
//   usage: { input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens }  this turn's
//                            usage; turn.completed reports the thread's running totals, as the CLI does
//   delayMs: n               wait before answering
//   fail: "signed_out" | "quota" | "rate_limit" | "model" | "server"   the CLI's failure for that case
//                            (error events, turn.failed, exit 1); `message` replaces the text
//   exit: n, stderr: "...", stdout: "..."   print these and exit with n (no events of its own)
//   hang: true | { ignoreSigterm: true }    start the turn, spawn a grandchild `sleep`, never answer
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isatty } from 'node:tty';

const VERSION = '0.171.0';
const exitWith = (code) => {
  process.exitCode = code;
};

// ---------------------------------------------------------------- arguments (the clap subset we use)

const ROOT_VALUE = new Set(['-c', '--config', '-m', '--model', '-s', '--sandbox', '-C', '--cd', '--output-schema', '--color', '-o', '--output-last-message', '--enable', '--disable', '-i', '--image', '-p', '--profile', '--add-dir', '--local-provider']);
const ROOT_FLAG = new Set(['--json', '--experimental-json', '--skip-git-repo-check', '--ephemeral', '--ignore-user-config', '--ignore-rules', '--oss', '--full-auto', '--dangerously-bypass-approvals-and-sandbox', '--strict-config']);
const RESUME_VALUE = new Set(['-c', '--config', '-m', '--model', '--output-schema', '-o', '--output-last-message', '--enable', '--disable', '-i', '--image']);
const RESUME_FLAG = new Set(['--json', '--experimental-json', '--skip-git-repo-check', '--ephemeral', '--ignore-user-config', '--ignore-rules', '--last', '--all']);
const CANONICAL = { '-c': '--config', '-m': '--model', '-s': '--sandbox', '-C': '--cd', '-o': '--output-last-message', '-i': '--image', '-p': '--profile', '--experimental-json': '--json' };

class UsageError extends Error {}

function parseExec(argv) {
  const opts = { config: [], enable: [], disable: [] };
  const positionals = [];
  let resume = null;
  let i = 0;
  const take = (valueSet, flagSet, where) => {
    const raw = argv[i];
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const name = eq > 0 ? raw.slice(0, eq) : raw;
    if (flagSet.has(name)) {
      opts[(CANONICAL[name] ?? name).slice(2)] = true;
      i += 1;
      return true;
    }
    if (valueSet.has(name)) {
      let value;
      if (eq > 0) value = raw.slice(eq + 1);
      else {
        value = argv[i + 1];
        i += 1;
      }
      if (value === undefined) throw new UsageError(`error: a value is required for '${name} <VALUE>' but none was supplied`);
      i += 1;
      const key = (CANONICAL[name] ?? name).slice(2);
      if (key === 'config') opts.config.push(value);
      else if (key === 'enable' || key === 'disable') opts[key].push(value);
      else opts[key] = value;
      return true;
    }
    if (raw.startsWith('-') && raw !== '-') throw new UsageError(`error: unexpected argument '${name}' found\n\n  tip: to pass '${name}' as a value, use '-- ${name}'\n\nUsage: codex exec ${where}[OPTIONS] ${where ? '[SESSION_ID] ' : ''}[PROMPT]\n\nFor more information, try '--help'.`);
    return false;
  };
  while (i < argv.length) {
    const raw = argv[i];
    if (resume) {
      if (take(RESUME_VALUE, RESUME_FLAG, 'resume ')) continue;
      resume.positionals.push(raw);
      i += 1;
      continue;
    }
    if (take(ROOT_VALUE, ROOT_FLAG, '')) continue;
    if (positionals.length === 0 && raw === 'resume') {
      resume = { positionals: [] };
      i += 1;
      continue;
    }
    positionals.push(raw);
    i += 1;
  }
  if (positionals.length > 1) throw new UsageError(`error: unexpected argument '${positionals[1]}' found\n\nUsage: codex exec [OPTIONS] [PROMPT]`);
  if (resume && resume.positionals.length > 2) throw new UsageError(`error: unexpected argument '${resume.positionals[2]}' found\n\nUsage: codex exec resume [OPTIONS] [SESSION_ID] [PROMPT]`);
  if (opts.sandbox !== undefined && !['read-only', 'workspace-write', 'danger-full-access'].includes(opts.sandbox)) {
    throw new UsageError(`error: invalid value '${opts.sandbox}' for '--sandbox <SANDBOX_MODE>'\n  [possible values: read-only, workspace-write, danger-full-access]`);
  }
  if (opts.color !== undefined && !['always', 'never', 'auto'].includes(opts.color)) {
    throw new UsageError(`error: invalid value '${opts.color}' for '--color <COLOR>'\n  [possible values: always, never, auto]`);
  }
  return { opts, prompt: positionals[0], resume };
}

/** `-c key=value`: the value is TOML when it parses as one of the simple forms, else the raw text. */
function parseOverrides(list) {
  const config = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`Error parsing -c overrides: Invalid override (missing '='): ${item}`);
    const key = item.slice(0, eq).trim();
    const raw = item.slice(eq + 1).trim();
    let value = raw;
    if (/^".*"$/s.test(raw)) {
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
    } else if (raw === 'true' || raw === 'false') value = raw === 'true';
    else if (/^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
    config[key] = value;
  }
  return config;
}

// ---------------------------------------------------------------- small helpers

function readStdin() {
  try {
    return readFileSync(0, 'utf8');
  } catch (error) {
    if (error.code === 'EAGAIN' || error.code === 'EOF') return '';
    throw error;
  }
}

function pgidOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

function threadId() {
  const time = Date.now().toString(16).padStart(12, '0');
  const r = randomBytes(10).toString('hex');
  const variant = ((parseInt(r[3], 16) & 0x3) | 0x8).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${r.slice(0, 3)}-${variant}${r.slice(4, 7)}-${r.slice(7, 19)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function insideGitRepo(dir) {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

const tokens = (text) => Math.ceil(text.length / 4);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

function logRun(record) {
  const file = process.env.FAKE_CODEX_LOG;
  if (!file) return;
  const env = Object.keys(process.env).sort();
  appendFileSync(file, `${JSON.stringify({ ...record, cwd: process.cwd(), env, pid: process.pid, ppid: process.ppid, pgid: pgidOf(process.pid) })}\n`);
}

/** Claims the next call number: the first N whose counter file this process creates (O_EXCL). */
function claimCall(stateDir) {
  const dir = join(stateDir, 'calls');
  mkdirSync(dir, { recursive: true });
  for (let n = 0; ; n += 1) {
    try {
      closeSync(openSync(join(dir, String(n)), 'wx'));
      return n;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
  }
}

// ---------------------------------------------------------------- JSON Schema: strictness and answers

/** What the Responses API rejects in a strict json_schema format (every property required, no extras). */
function strictnessIssue(schema, root = schema, path = '()') {
  if (!schema || typeof schema !== 'object') return null;
  if (typeof schema.$ref === 'string') return null;
  if (schema.type === 'object' || schema.properties) {
    const keys = Object.keys(schema.properties ?? {});
    if (schema.additionalProperties !== false) return `In context=${path}, 'additionalProperties' is required to be supplied and to be false.`;
    const required = Array.isArray(schema.required) ? schema.required : [];
    const missing = keys.find((k) => !required.includes(k));
    if (missing !== undefined) return `In context=${path}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`;
    for (const k of keys) {
      const issue = strictnessIssue(schema.properties[k], root, `('properties', '${k}')`);
      if (issue) return issue;
    }
  }
  if (schema.items) return strictnessIssue(schema.items, root, `('items')`);
  for (const variant of schema.anyOf ?? []) {
    const issue = strictnessIssue(variant, root, path);
    if (issue) return issue;
  }
  for (const [name, def] of Object.entries(schema.$defs ?? schema.definitions ?? {})) {
    const issue = strictnessIssue(def, root, `('$defs', '${name}')`);
    if (issue) return issue;
  }
  return null;
}

/** Checks a value against the subset of JSON Schema planexec's strict schemas use. Returns the first problem. */
function schemaProblem(schema, value, root = schema, at = '$') {
  if (!schema || typeof schema !== 'object') return null;
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace(/^#\//, '').split('/').reduce((node, part) => node?.[part], root);
    return schemaProblem(target, value, root, at);
  }
  if (Array.isArray(schema.anyOf)) {
    return schema.anyOf.some((s) => schemaProblem(s, value, root, at) === null) ? null : `${at} matches none of anyOf`;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) return `${at} is not one of ${JSON.stringify(schema.enum)}`;
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (types.length && !types.some((t) => t === kind || (t === 'number' && kind === 'integer'))) return `${at} should be ${types.join('|')}, got ${kind}`;
  if (kind === 'object') {
    for (const key of schema.required ?? []) if (!(key in value)) return `${at} is missing required key '${key}'`;
    if (schema.additionalProperties === false) {
      const extra = Object.keys(value).find((k) => !(k in (schema.properties ?? {})));
      if (extra !== undefined) return `${at} has a key the schema does not allow: '${extra}'`;
    }
    for (const [key, sub] of Object.entries(schema.properties ?? {})) {
      if (key in value) {
        const problem = schemaProblem(sub, value[key], root, `${at}.${key}`);
        if (problem) return problem;
      }
    }
  }
  if (kind === 'array' && schema.items) {
    for (let i = 0; i < value.length; i += 1) {
      const problem = schemaProblem(schema.items, value[i], root, `${at}[${i}]`);
      if (problem) return problem;
    }
  }
  return null;
}

// ---------------------------------------------------------------- failures, in the CLI's own words

function failureEvents(reply, model) {
  const requestId = () => `req_${randomBytes(8).toString('hex')}`;
  const url = 'https://api.openai.com/v1/responses';
  switch (reply.fail) {
    case 'signed_out': {
      const text = () => `unexpected status 401 Unauthorized: Missing bearer or basic authentication in header, url: ${url}, request id: ${requestId()}`;
      return { retries: [1, 2, 3, 4, 5].map((n) => `Reconnecting... ${n}/5 (${text()})`), message: reply.message ?? text() };
    }
    case 'quota':
      return {
        retries: [],
        message:
          reply.message ??
          'You\u2019ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 8:55 PM.',
      };
    case 'rate_limit': {
      const text = () => `exceeded retry limit, last status: 429 Too Many Requests, request id: ${requestId()}`;
      return { retries: [1, 2, 3, 4, 5].map((n) => `Reconnecting... ${n}/5 (${text()})`), message: reply.message ?? text() };
    }
    case 'model':
      return {
        retries: [],
        message:
          reply.message ??
          JSON.stringify({
            type: 'error',
            status: 400,
            error: { type: 'invalid_request_error', message: `The '${model}' model is not supported when using Codex with a ChatGPT account.` },
          }),
      };
    case 'server': {
      const text = 'We\u2019re currently experiencing high demand, which may cause temporary errors.';
      return { retries: [1, 2, 3, 4, 5].map((n) => `Reconnecting... ${n}/5 (${text})`), message: reply.message ?? text };
    }
    default:
      return { retries: [], message: reply.message ?? `fake-codex: unknown failure '${reply.fail}'` };
  }
}

// ---------------------------------------------------------------- commands

function loginStatus() {
  const mode = process.env.FAKE_CODEX_LOGIN ?? 'chatgpt';
  logRun({ kind: 'login', argv: process.argv.slice(2), stdin: null, call: null, thread_id: null, resumed: false, config: {} });
  // codex-rs/cli login status prints to stderr and exits 1 when there are no credentials.
  if (mode === 'chatgpt') process.stderr.write('Logged in using ChatGPT\n');
  else if (mode === 'api_key') process.stderr.write('Logged in using an API key - sk-proj-***ABCDE\n');
  else {
    process.stderr.write('Not logged in\n');
    exitWith(1);
  }
}

function loadScript() {
  const path = process.env.FAKE_CODEX_SCRIPT;
  if (!path) throw new Error('fake-codex: FAKE_CODEX_SCRIPT is not set');
  const parsed = JSON.parse(readFileSync(path, 'utf8'));
  const script = Array.isArray(parsed) ? { replies: parsed } : parsed;
  const state = process.env.FAKE_CODEX_STATE ?? `${path}.state`;
  return { script, state, threads: process.env.FAKE_CODEX_THREADS ?? join(state, 'threads') };
}

async function exec(argv) {
  let parsed;
  try {
    parsed = parseExec(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return exitWith(2);
  }
  const { opts, resume } = parsed;
  let config;
  try {
    config = parseOverrides(opts.config);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    return exitWith(1);
  }
  if (opts.cd !== undefined) {
    try {
      if (!statSync(opts.cd).isDirectory()) throw new Error('not a directory');
    } catch {
      process.stderr.write('Error: No such file or directory (os error 2)\n');
      return exitWith(1);
    }
  }
  const workdir = resolve(opts.cd ?? process.cwd());
  const json = opts.json === true;

  // The prompt, as codex-rs/exec/src/lib.rs resolves it: `-` forces stdin; no prompt reads piped stdin;
  // a prompt argument with piped stdin gets the stdin appended as a <stdin> block (root command only).
  const stdinIsTty = isatty(0);
  let stdinText = null;
  let promptArg = parsed.prompt;
  let sessionId = null;
  if (resume) {
    const [first, second] = resume.positionals;
    if (opts.last) promptArg = second ?? first ?? parsed.prompt;
    else {
      sessionId = first ?? null;
      promptArg = second ?? parsed.prompt;
    }
  }
  let prompt;
  if (promptArg !== undefined && promptArg !== '-') {
    prompt = promptArg;
    if (!resume && !stdinIsTty) {
      process.stderr.write('Reading additional input from stdin...\n');
      stdinText = readStdin();
      if (stdinText.trim()) prompt = `${prompt}\n\n<stdin>\n${stdinText}${stdinText.endsWith('\n') ? '' : '\n'}</stdin>`;
    }
  } else {
    if (promptArg === undefined) {
      if (stdinIsTty) {
        process.stderr.write('No prompt provided. Either specify one as an argument or pipe the prompt into stdin.\n');
        return exitWith(1);
      }
      process.stderr.write('Reading prompt from stdin...\n');
    }
    stdinText = readStdin();
    if (!stdinText.trim()) {
      process.stderr.write('No prompt provided via stdin.\n');
      return exitWith(1);
    }
    prompt = stdinText;
  }

  let schema = null;
  if (opts['output-schema'] !== undefined) {
    const file = opts['output-schema'];
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      process.stderr.write(`Failed to read output schema file ${file}: No such file or directory (os error 2)\n`);
      return exitWith(1);
    }
    try {
      schema = JSON.parse(text);
    } catch (error) {
      process.stderr.write(`Output schema file ${file} is not valid JSON: ${error.message}\n`);
      return exitWith(1);
    }
  }

  if (!opts['skip-git-repo-check'] && !insideGitRepo(workdir)) {
    process.stderr.write('Not inside a trusted directory and --skip-git-repo-check was not specified.\n');
    return exitWith(1);
  }

  const { script, state, threads } = loadScript();
  mkdirSync(threads, { recursive: true });
  const model = opts.model ?? 'gpt-5.5';

  // The thread: a stored one for `resume <uuid>` (an unknown uuid is an error, an unknown name starts a
  // new thread, as the CLI does), the newest for `resume --last`, else a new one.
  let thread = null;
  let resumed = false;
  if (resume) {
    let file = null;
    if (opts.last) {
      const files = readdirSync(threads).filter((f) => f.endsWith('.json'));
      files.sort((a, b) => statSync(join(threads, b)).mtimeMs - statSync(join(threads, a)).mtimeMs);
      file = files[0] ? join(threads, files[0]) : null;
    } else if (sessionId && UUID.test(sessionId)) {
      file = join(threads, `${sessionId}.json`);
      if (!existsSync(file)) {
        const call = claimCall(state);
        logRun({ kind: 'exec', argv: process.argv.slice(2), stdin: stdinText, call, thread_id: sessionId, resumed: true, config });
        process.stderr.write(`Error: thread/resume: thread/resume failed: no rollout found for thread id ${sessionId} (code -32600)\n`);
        return exitWith(1);
      }
    }
    if (file && existsSync(file)) {
      thread = JSON.parse(readFileSync(file, 'utf8'));
      resumed = true;
    }
  }
  thread ??= {
    id: threadId(),
    cwd: workdir,
    developer_instructions: typeof config.developer_instructions === 'string' ? config.developer_instructions : null,
    turns: [],
    totals: { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_output_tokens: 0 },
  };

  const call = claimCall(state);
  const replies = script.replies ?? [];
  const reply = call < replies.length ? replies[call] : script.default;
  const record = { kind: 'exec', argv: process.argv.slice(2), stdin: stdinText, call, thread_id: thread.id, resumed, config };
  if (!reply) {
    logRun(record);
    process.stderr.write(`fake-codex: the script has no reply for call #${call} and no default\n`);
    return exitWith(3);
  }

  if (reply.exit !== undefined) {
    logRun(record);
    if (reply.stdout) process.stdout.write(reply.stdout);
    if (reply.stderr) process.stderr.write(reply.stderr);
    return exitWith(reply.exit);
  }

  const out = json ? emit : () => {};
  out({ type: 'thread.started', thread_id: thread.id });
  let itemNo = 0;
  const nextItem = () => `item_${itemNo++}`;
  for (const warning of reply.warnings ?? []) out({ type: 'item.completed', item: { id: nextItem(), type: 'error', message: warning } });
  out({ type: 'turn.started' });

  const failTurn = (retries, message) => {
    for (const r of retries) out({ type: 'error', message: r });
    out({ type: 'error', message });
    out({ type: 'turn.failed', error: { message } });
    if (!json) process.stderr.write(`ERROR: ${message}\n`);
    exitWith(1);
  };

  if (reply.hang) {
    if (typeof reply.hang === 'object' && reply.hang.ignoreSigterm) process.on('SIGTERM', () => {});
    const grandchild = spawn('sleep', ['3600'], { stdio: 'ignore' });
    logRun({ ...record, grandchild_pid: grandchild.pid });
    setInterval(() => {}, 1 << 30);
    return undefined;
  }
  logRun(record);

  if (schema) {
    const issue = strictnessIssue(schema);
    if (issue) {
      return failTurn(
        [],
        JSON.stringify({
          type: 'error',
          status: 400,
          error: { type: 'invalid_request_error', code: 'invalid_json_schema', message: `Invalid schema for response_format 'codex_output_schema': ${issue}`, param: 'text.format.schema' },
        }),
      );
    }
  }
  if (reply.fail) {
    const { retries, message } = failureEvents(reply, model);
    return failTurn(retries, message);
  }

  for (let n = 1; n <= (reply.retries ?? 0); n += 1) out({ type: 'error', message: `Reconnecting... ${n}/5 (stream disconnected before completion: error sending request)` });
  if (reply.delayMs) await sleep(reply.delayMs);

  const prompts = [...thread.turns.map((t) => t.prompt), prompt];
  let answer;
  if (reply.echo) answer = JSON.stringify({ prompts, developer_instructions: thread.developer_instructions, model, resumed });
  else if (reply.json !== undefined) {
    answer = JSON.stringify(reply.json);
    if (schema) {
      const problem = schemaProblem(schema, reply.json);
      if (problem) {
        process.stderr.write(`fake-codex: the scripted json answer does not match --output-schema: ${problem}\n`);
        return exitWith(3);
      }
    }
  } else if (typeof reply.text === 'string') answer = reply.text;
  else {
    process.stderr.write('fake-codex: the reply has no text, json, echo, fail, exit or hang\n');
    return exitWith(3);
  }

  if (reply.reasoning) out({ type: 'item.completed', item: { id: nextItem(), type: 'reasoning', text: reply.reasoning } });
  for (const c of reply.commands ?? []) {
    const id = nextItem();
    out({ type: 'item.started', item: { id, type: 'command_execution', command: c.command, aggregated_output: '', exit_code: null, status: 'in_progress' } });
    out({
      type: 'item.completed',
      item: { id, type: 'command_execution', command: c.command, aggregated_output: c.output ?? '', exit_code: c.exit_code ?? 0, status: (c.exit_code ?? 0) === 0 ? 'completed' : 'failed' },
    });
  }
  if (reply.malformed !== undefined && json) process.stdout.write(`${reply.malformed}\n`);
  out({ type: 'item.completed', item: { id: nextItem(), type: 'agent_message', text: answer } });

  // Usage: this turn's (scripted, or estimated from the text it "sees"), added to the thread's totals;
  // turn.completed reports the totals, as the CLI does.
  const seen = [thread.developer_instructions ?? '', ...thread.turns.flatMap((t) => [t.prompt, t.answer]), prompt].join('\n');
  const previousInput = thread.turns.length ? thread.turns[thread.turns.length - 1].usage.input_tokens : 0;
  const turn = {
    input_tokens: reply.usage?.input_tokens ?? 1000 + tokens(seen),
    cached_input_tokens: reply.usage?.cached_input_tokens ?? previousInput,
    output_tokens: reply.usage?.output_tokens ?? tokens(answer),
    reasoning_output_tokens: reply.usage?.reasoning_output_tokens ?? 0,
  };
  const totals = {
    input_tokens: thread.totals.input_tokens + turn.input_tokens,
    cached_input_tokens: thread.totals.cached_input_tokens + turn.cached_input_tokens,
    output_tokens: thread.totals.output_tokens + turn.output_tokens,
    reasoning_output_tokens: thread.totals.reasoning_output_tokens + turn.reasoning_output_tokens,
  };
  out({
    type: 'turn.completed',
    usage: { input_tokens: totals.input_tokens, cached_input_tokens: totals.cached_input_tokens, cache_write_input_tokens: 0, output_tokens: totals.output_tokens, reasoning_output_tokens: totals.reasoning_output_tokens },
  });
  if (!json) process.stdout.write(`${answer}\n`);
  if (opts['output-last-message']) writeFileSync(opts['output-last-message'], answer);

  if (!opts.ephemeral) {
    thread.turns.push({ prompt, answer, model, usage: turn });
    thread.totals = totals;
    writeFileSync(join(threads, `${thread.id}.json`), JSON.stringify(thread));
  }
  return exitWith(0);
}

// ---------------------------------------------------------------- entry

const args = process.argv.slice(2);
process.stdout.on('error', () => {});
try {
  if (args[0] === '--version' || args[0] === '-V') process.stdout.write(`codex-cli ${VERSION}\n`);
  else if (args[0] === 'login' && args[1] === 'status') loginStatus();
  else if (args[0] === 'exec') await exec(args.slice(1));
  else {
    process.stderr.write(`fake-codex: only 'exec', 'login status' and '--version' are implemented, got: ${args.join(' ')}\n`);
    exitWith(2);
  }
} catch (error) {
  process.stderr.write(`fake-codex: ${error.stack ?? error}\n`);
  exitWith(3);
}

// `npm run demo`: the built server over stdio, driven like a host would drive it: one run_workflow
// call plans a sample feature, executes every subtask (in parallel where the plan allows) and has
// the planner review each wave; then each subtask's output (its start), and what the run cost.
// Where the calls go, said first and plainly:
// - OPENAI_API_KEY unset: planexec's local OpenAI-compatible stand-in (no model is called);
// - OPENAI_API_KEY set, OPENAI_BASE_URL unset (or api.openai.com): OpenAI itself, billed;
// - OPENAI_API_KEY and another OPENAI_BASE_URL: that OpenAI-compatible endpoint, named.
// Everything it makes (workspace, database) lives in one temporary folder, removed at the end.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoResponder, startOpenAIStandin, type OpenAIStandin, type Responder } from '../test/support/openai-standin.js';
import { connectServer } from './lib/stdio-client.js';

const REQUEST = `Add rate limiting to the login endpoint of src/server.js: at most 5 failed attempts per IP per 15 minutes, answering 429 with a Retry-After header. Include tests and a note in the README.`;

const SERVER_JS = `import express from 'express';

export const app = express();
app.use(express.json());

app.post('/login', async (req, res) => {
  const { user, password } = req.body ?? {};
  if (user === 'admin' && password === process.env.ADMIN_PASSWORD) return res.json({ ok: true });
  res.status(401).json({ ok: false });
});
`;

/** Characters of each subtask's output printed here (the demo's database is removed at the end, so no paging hint). */
const OUTPUT_CHARS = 600;

/** The stand-in's executor answers, by the subtask's title (the canned plan's four), long enough to be cut at OUTPUT_CHARS. */
const ANSWERS: Array<[RegExp, string]> = [
  [
    /data model/i,
    `## Failed-login limiter: data model

- Key: the client IP (req.ip, behind a trusted proxy setting), never the user name (that would let anyone lock out a user).
- Entry: { count, resetAt }: failures in the current window and when the window ends (epoch ms).
- Window: fixed, 15 minutes from the first failure; 5 failures fill it. A success clears the IP's entry.
- Store: an in-memory Map for one process; the same two operations (record, check) map onto Redis INCR + PEXPIRE for several.
- Answer when full: 429 with Retry-After = seconds until resetAt, rounded up; the body says when to try again.
- Growth: entries whose window ended are dropped on access and by a sweep every minute, so the map stays bounded.`,
  ],
  [
    /core logic/i,
    `\`\`\`js
// In-memory failed-login limiter: 5 failures per IP per 15 minutes.
const WINDOW_MS = 15 * 60 * 1000;
const MAX_FAILURES = 5;
const failures = new Map(); // ip -> { count, resetAt }

export function retryAfterSeconds(ip, now = Date.now()) {
  const entry = failures.get(ip);
  if (!entry || entry.resetAt <= now) return null;
  return entry.count >= MAX_FAILURES ? Math.ceil((entry.resetAt - now) / 1000) : null;
}

export function recordFailure(ip, now = Date.now()) {
  const entry = failures.get(ip);
  if (!entry || entry.resetAt <= now) failures.set(ip, { count: 1, resetAt: now + WINDOW_MS });
  else entry.count += 1;
}

export function clearFailures(ip) {
  failures.delete(ip);
}

app.post('/login', async (req, res) => {
  const wait = retryAfterSeconds(req.ip);
  if (wait !== null) return res.status(429).set('Retry-After', String(wait)).json({ ok: false, retryAfter: wait });
  // ... the existing check; recordFailure(req.ip) before the 401, clearFailures(req.ip) on success
});
\`\`\``,
  ],
  [
    /tests/i,
    `\`\`\`js
import request from 'supertest';
import { describe, it, expect } from 'vitest';
import { app } from '../src/server.js';

describe('POST /login rate limiting', () => {
  it('answers 429 with Retry-After after 5 failed attempts from one IP', async () => {
    for (let i = 0; i < 5; i++) await request(app).post('/login').send({ user: 'admin', password: 'wrong' }).expect(401);
    const res = await request(app).post('/login').send({ user: 'admin', password: 'wrong' });
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('forgets the failures after a successful login', async () => {
    // ... two failures, one success, then five more failures are needed for a 429
  });
});
\`\`\``,
  ],
  [
    /document/i,
    `## Login rate limiting

POST /login allows at most 5 failed attempts per client IP in a 15-minute window. The sixth answers
429 Too Many Requests with a Retry-After header (seconds until the window ends). A successful login
clears the count. Behind a reverse proxy, set Express's "trust proxy" so req.ip is the client's
address, not the proxy's; otherwise every client shares one limit. The counts live in memory: they
reset when the server restarts, and several server processes each count on their own (use a shared
store such as Redis for that).`,
  ],
];

/** The stand-in's canned plan and reviews, and executor answers that fit the subtask (see ANSWERS). */
const demoResponder: Responder = async (req) => {
  if (req.schemaName !== null) return autoResponder(req);
  const title = /## Subtask [^:\s]+: (.*)/.exec(req.inputText)?.[1] ?? '';
  const answer = ANSWERS.find(([pattern]) => pattern.test(title))?.[1];
  return answer ? { text: answer } : autoResponder(req);
};

const line = (s = '') => process.stdout.write(`${s}\n`);
const pad = (s: string | number, n: number) => String(s).padEnd(n);
const num = (n: number) => n.toLocaleString('en-US');

/** True when `url` is OpenAI's own API (no URL, or the host api.openai.com). */
function isOpenAI(url: string | undefined): boolean {
  if (!url) return true;
  try {
    return new URL(url).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'planexec-demo-'));
  let standin: OpenAIStandin | null = null;
  try {
    const workspace = join(dir, 'workspace');
    mkdirSync(join(workspace, 'src'), { recursive: true });
    writeFileSync(join(workspace, 'src', 'server.js'), SERVER_JS);

    const env: Record<string, string> = { PLANEXEC_DB: join(dir, 'state.db'), PLANEXEC_ROOT: workspace, PLANEXEC_LOG_LEVEL: 'warn' };
    for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'PLANEXEC_PLANNER_MODEL', 'PLANEXEC_EXECUTOR_MODEL']) {
      const value = process.env[name]?.trim();
      if (value) env[name] = value;
    }
    const baseURL = env.OPENAI_BASE_URL;
    if (!env.OPENAI_API_KEY) {
      standin = await startOpenAIStandin({ responder: demoResponder });
      env.OPENAI_API_KEY = 'demo-key-for-the-local-stand-in';
      env.OPENAI_BASE_URL = standin.baseURL;
      line("OPENAI_API_KEY is not set, so this demo runs against planexec's LOCAL OPENAI-COMPATIBLE STAND-IN:");
      line('canned plan, outputs and reviews, with token counts from a real tokenizer. No model is called, nothing is billed.');
      line(`Set OPENAI_API_KEY to run the same demo against OpenAI${baseURL ? ` (OPENAI_BASE_URL ${baseURL} is not used without it)` : ''}.`);
    } else if (isOpenAI(baseURL)) {
      line('Calling the real OpenAI API with your OPENAI_API_KEY. This makes billed model calls (about a dozen).');
    } else {
      line(`Calling the OpenAI-compatible endpoint at ${baseURL} (OPENAI_BASE_URL) with your OPENAI_API_KEY: not OpenAI itself,`);
      line('unless that server forwards there. It must serve the Responses API; whatever it bills, it bills.');
    }
    line(`Planner ${env.PLANEXEC_PLANNER_MODEL ?? 'gpt-5.4'}, executor ${env.PLANEXEC_EXECUTOR_MODEL ?? 'gpt-5.4-mini'}. Temporary folder (removed at the end): ${dir}`);
    line();

    const server = await connectServer(env);
    try {
      line(`run_workflow: "${REQUEST.slice(0, 90)}..."`);
      const status = await server.call('run_workflow', { request: REQUEST, files: ['src/server.js'] });
      const id = status.workflow_id as string;
      line(`  workflow ${id}: ${status.phase}, ${status.subtasks.length} subtasks`);
      for (const s of status.subtasks) {
        const runs = s.runs.map((r: { attempt: number; model: string }) => `#${r.attempt} ${r.model}`).join(', ');
        line(`  - ${pad(s.id, 4)} ${pad(s.title, 34)} ${pad(s.status, 10)} ${runs}${s.depends_on.length ? `  (after ${s.depends_on.join(', ')})` : ''}`);
      }
      if (status.last_error) line(`  stopped on: ${status.last_error}`);

      for (const s of status.subtasks) {
        const detail = (await server.call('workflow_status', { workflow_id: id, subtask_id: s.id })).subtask;
        line();
        line(`--- Output of ${s.id} (${s.title}), ${num(detail.output_total)} characters ---`);
        const shown = detail.output.slice(0, OUTPUT_CHARS);
        line(shown);
        if (detail.output_total > shown.length) line(`[... ${num(detail.output_total - shown.length)} more characters, not shown here]`);
      }

      const final = await server.call('workflow_status', { workflow_id: id });
      line();
      line(`Workflow ${id}: ${final.phase}`);
      for (const m of final.calls_by_model ?? []) {
        line(`  ${pad(m.role, 9)} ${pad(`${m.provider}/${m.model}`, 26)} ${m.calls} calls, ${num(m.input_tokens)} input tokens (${num(m.cached_tokens)} cached), ${num(m.output_tokens)} output tokens`);
      }
      const c = final.cost;
      const dollars = (x: number | null) => (x === null ? 'n/a' : `$${x.toFixed(4)}`);
      line();
      line(`  Quota units: ${c.quota_units} with the split vs ${c.baseline_quota_units} on the planner model alone: ${c.savings_pct}% saved`);
      line(`  USD:         ${dollars(c.usd)} with the split vs ${dollars(c.baseline_usd)} on the planner model alone: ${c.usd_savings_pct ?? 'n/a'}% saved`);
      line('  (Baseline: the same calls and tokens priced as planner-model calls; see the README for how this is computed.)');
      if (standin) line('\nThese figures come from the local stand-in, not from OpenAI.');
      line(`In your own workflows, workflow_status {workflow_id, subtask_id, offset} pages a whole output; this demo's database is removed with its temporary folder.`);
    } finally {
      await server.close();
    }
  } finally {
    await standin?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

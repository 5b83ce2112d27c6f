// `npm run demo`: the built server over stdio, driven like a host would drive it: plan a sample
// feature, execute every subtask in dependency order, review, and print what it cost.
// With OPENAI_API_KEY set it calls OpenAI for real; without, the local OpenAI-compatible stand-in.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenAIStandin, type OpenAIStandin } from '../test/support/openai-standin.js';
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

const line = (s = '') => process.stdout.write(`${s}\n`);
const pad = (s: string | number, n: number) => String(s).padEnd(n);
const num = (n: number) => n.toLocaleString('en-US');

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'planexec-demo-'));
  const workspace = join(dir, 'workspace');
  mkdirSync(join(workspace, 'src'), { recursive: true });
  writeFileSync(join(workspace, 'src', 'server.js'), SERVER_JS);

  let standin: OpenAIStandin | null = null;
  const env: Record<string, string> = { PLANEXEC_DB: join(dir, 'state.db'), PLANEXEC_ROOT: workspace };
  for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'PLANEXEC_PLANNER_MODEL', 'PLANEXEC_EXECUTOR_MODEL']) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  if (process.env.OPENAI_API_KEY) {
    line(`Using the real OpenAI API${process.env.OPENAI_BASE_URL ? ` at ${process.env.OPENAI_BASE_URL}` : ''} with your OPENAI_API_KEY. This makes billed model calls.`);
  } else {
    standin = await startOpenAIStandin();
    env.OPENAI_API_KEY = 'demo-key-for-the-local-stand-in';
    env.OPENAI_BASE_URL = standin.baseURL;
    line('OPENAI_API_KEY is not set, so this demo runs against planexec\'s LOCAL OPENAI-COMPATIBLE STAND-IN:');
    line('canned plan, outputs and reviews, with token counts from a real tokenizer. No model is called.');
    line('Set OPENAI_API_KEY to run the same demo against OpenAI.');
  }
  line(`Workspace: ${workspace}    Database: ${env.PLANEXEC_DB}`);
  line();

  const server = await connectServer(env);
  try {
    line(`plan_task: "${REQUEST.slice(0, 90)}..."`);
    const plan = await server.call('plan_task', { request: REQUEST, files: ['src/server.js'] });
    const id = plan.workflow_id as string;
    line(`  workflow ${id}: ${plan.subtasks.length} subtasks`);
    for (const s of plan.subtasks) line(`  - ${pad(s.id, 4)} ${pad(s.title, 34)} ${pad(s.complexity, 8)} -> ${s.role}${s.depends_on.length ? `  (after ${s.depends_on.join(', ')})` : ''}`);
    line();

    const rows = new Map<string, { title: string; model: string; attempts: number; input: number; cached: number; output: number }>();
    for (let round = 1; round <= 5; round++) {
      let ready: string[] = (await server.call('workflow_status', { workflow_id: id })).ready;
      while (ready.length) {
        const r = await server.call('execute_subtask', { workflow_id: id, subtask_id: ready[0] });
        const title = plan.subtasks.find((s: { id: string }) => s.id === r.subtask_id)?.title ?? '';
        const prev = rows.get(r.subtask_id);
        rows.set(r.subtask_id, {
          title,
          model: r.model,
          attempts: r.attempt,
          input: (prev?.input ?? 0) + r.usage.input_tokens,
          cached: (prev?.cached ?? 0) + r.usage.cached_tokens,
          output: (prev?.output ?? 0) + r.usage.output_tokens,
        });
        line(`execute_subtask ${pad(r.subtask_id, 4)} on ${pad(r.model, 14)} ${num(r.usage.input_tokens)} tokens in, ${num(r.usage.output_tokens)} out`);
        ready = r.ready;
      }
      const review = await server.call('review_results', { workflow_id: id });
      line(`review_results: ${review.verdict} (${review.reviews.map((v: { subtask_id: string; verdict: string }) => `${v.subtask_id} ${v.verdict}`).join(', ')}) -> phase ${review.phase}`);
      if (review.phase !== 'executing') break;
    }

    const status = await server.call('workflow_status', { workflow_id: id });
    line();
    line(`Workflow ${id}: ${status.phase}`);
    line(`  ${pad('subtask', 8)}${pad('title', 36)}${pad('model', 15)}${pad('attempt', 9)}${pad('in', 9)}${pad('cached', 9)}out`);
    for (const [sid, r] of rows) line(`  ${pad(sid, 8)}${pad(r.title.slice(0, 34), 36)}${pad(r.model, 15)}${pad(r.attempts, 9)}${pad(num(r.input), 9)}${pad(num(r.cached), 9)}${num(r.output)}`);
    const u = status.usage;
    line();
    for (const role of ['planner', 'executor'] as const) {
      line(`  ${pad(role, 9)} ${u[role].calls} calls, ${num(u[role].input_tokens)} input tokens (${num(u[role].cached_tokens)} cached), ${num(u[role].output_tokens)} output tokens`);
    }
    const c = status.cost;
    line();
    line(`  Quota units: ${c.quota_units} with the split vs ${c.baseline_quota_units} on the planner model alone: ${c.savings_pct}% saved`);
    line(`  USD:         $${c.usd?.toFixed(4)} with the split vs $${c.baseline_usd?.toFixed(4)} on the planner model alone: ${c.usd_savings_pct}% saved`);
    line('  (Baseline: the same calls and tokens priced as planner-model calls; see the README for how this is computed.)');
    if (standin) line('\nThese figures come from the local stand-in, not from OpenAI.');
  } finally {
    await server.close();
    await standin?.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

// `npm run bench`: performance figures of the built server over stdio against the local stand-in
// (zero model latency unless stated). Prints figures and the targets; it asserts nothing.
// `npm run bench -- <section> ...` runs only the sections named (see SECTIONS).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { autoResponder, startOpenAIStandin, type OpenAIStandin, type StandinPatchCall, type StandinRequest } from '../test/support/openai-standin.js';
import { plan, subtaskOf, workflowResponder } from '../test/support/responders.js';
import { CLI, connectServer } from './lib/stdio-client.js';
import OpenAI from 'openai';
import { loadConfig } from '../src/config.js';
import { DEFAULT_PRICES, priceUsage } from '../src/core/cost.js';
import { PLANNER_INSTRUCTIONS } from '../src/core/prompts.js';
import { compose } from '../src/main.js';
import { GitExec } from '../src/adapters/git/git-exec.js';
import { AUTH_REQUEST, authPlan, authResponder, writeAuthWorkspace } from './lib/article.js';
import { FAKE_CODEX, fakeCodexHome, type FakeCodexReply } from '../test/support/fake-codex-kit.js';
import { benchStores } from './bench-stores.js';
import { chainPlan, percentile } from './lib/bench-kit.js';

const line = (s = '') => process.stdout.write(`${s}\n`);
const ms = (n: number) => `${n.toFixed(1)} ms`;

function verdict(ok: boolean): string {
  return ok ? 'meets target' : 'MISSES target';
}

/** Spawn to the first tools/list answer, over raw stdio. */
async function startupOnce(env: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'ignore'] });
  const send = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
  const elapsed = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (const l of buffer.split('\n').slice(0, -1)) {
        if ((JSON.parse(l) as { id?: number }).id === 2) resolve(performance.now() - t0);
      }
    });
    child.on('error', reject);
  });
  child.stdin.end();
  await new Promise((r) => child.on('exit', r));
  return elapsed;
}

/** The file every subtask of the chain works on (~2 KB of TypeScript), as real subtasks would. */
const FEATURE_TS = Array.from(
  { length: 40 },
  (_, i) => `export function step${i}(input: number): number {\n  return input * ${i + 2} + ${i};\n}\n`,
).join('\n');

/** A plan of `n` subtasks in a chain: s2 needs s1, s3 needs s2, ... */
function chainResponder(n: number) {
  return (req: StandinRequest) => {
    if (req.schemaName === 'plan') return { json: chainPlan(n) };
    return autoResponder(req);
  };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function benchCore(standin: OpenAIStandin, dir: string): Promise<void> {
  line('== Core: 20-subtask chain, zero model latency ==');
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'feature.ts'), FEATURE_TS);
  const env = { OPENAI_API_KEY: 'bench', OPENAI_BASE_URL: standin.baseURL, PLANEXEC_DB: join(dir, 'core.db'), PLANEXEC_ROOT: dir, PLANEXEC_LOG_LEVEL: 'warn' };

  const startups: number[] = [];
  for (let i = 0; i < 10; i++) startups.push(await startupOnce({ ...env, PLANEXEC_DB: join(dir, `startup-${i}.db`) }));
  const startP50 = percentile(startups, 50);
  line(`start-up to first tools/list answer: p50 ${ms(startP50)}, max ${ms(Math.max(...startups))} over 10 starts (target <= 400 ms: ${verdict(startP50 <= 400)})`);

  standin.reset();
  standin.setResponder(chainResponder(20));
  const server = await connectServer(env);
  try {
    const timed = async (name: string, args: Record<string, unknown>) => {
      const t0 = performance.now();
      const result = await server.call(name, args);
      return { result, elapsed: performance.now() - t0 };
    };
    // Warm-up outside the measured runs: the first token count loads the tokenizer tables.
    const warm = await timed('plan_task', { request: 'Warm-up workflow' });
    await server.call('execute_subtask', { workflow_id: warm.result.workflow_id });

    const plan = await timed('plan_task', { request: 'Build the feature in twenty steps' });
    const workflow_id = plan.result.workflow_id as string;
    const execTimes: number[] = [];
    const overheads: number[] = [];
    for (let i = 1; i <= 20; i++) {
      const before = standin.requests.length;
      const { elapsed } = await timed('execute_subtask', { workflow_id, subtask_id: `s${i}` });
      const modelTime = standin.requests.slice(before).reduce((sum, r) => sum + ((r.endedAt ?? r.startedAt) - r.startedAt), 0);
      execTimes.push(elapsed);
      overheads.push(elapsed - modelTime);
    }
    const review = await timed('review_results', { workflow_id });
    const statusTimes: number[] = [];
    for (let i = 0; i < 200; i++) statusTimes.push((await timed('workflow_status', { workflow_id })).elapsed);

    const executorCalls = standin.requests.filter((r) => r.schemaName === null && r.inputText.includes('Build the feature in twenty steps'));
    const tokensAt = (n: number) => executorCalls[n - 1]?.usage?.inputTokens ?? NaN;
    const [first, second, last] = [tokensAt(1), tokensAt(2), tokensAt(20)];
    const rss = rssMb(server.pid);

    line(`plan_task round trip: ${ms(plan.elapsed)}; review_results (20 subtasks): ${ms(review.elapsed)}`);
    line(`execute_subtask round trip: p50 ${ms(percentile(execTimes, 50))}, p99 ${ms(percentile(execTimes, 99))}`);
    const overheadP50 = percentile(overheads, 50);
    line(`execute_subtask server overhead (round trip minus the stand-in's time on the request): p50 ${ms(overheadP50)}, p99 ${ms(percentile(overheads, 99))} (target p50 <= 10 ms: ${verdict(overheadP50 <= 10)})`);
    const statusP50 = percentile(statusTimes, 50);
    line(`workflow_status round trip (200 calls): p50 ${ms(statusP50)}, p99 ${ms(percentile(statusTimes, 99))} (target p50 <= 5 ms: ${verdict(statusP50 <= 5)})`);
    line(`server RSS after the run: ${rss.toFixed(1)} MB (target <= 120 MB: ${verdict(rss <= 120)})`);
    const ratio = last / first;
    line(`executor input tokens (each subtask reads a ${FEATURE_TS.length}-byte file): subtask 1 ${first}, subtask 2 ${second}, subtask 20 ${last}`);
    line(`  ratio subtask 20 / subtask 1: ${ratio.toFixed(3)} (target <= 1.2: ${verdict(ratio <= 1.2)}); subtask 20 / subtask 2: ${(last / second).toFixed(3)} (subtask 1 has no dependency output)`);
  } finally {
    await server.close();
  }

  // Budgets need token estimates, which load the o200k tables: the same run with a budget set.
  const budgeted = await connectServer({ ...env, PLANEXEC_DB: join(dir, 'core-budget.db'), PLANEXEC_EXECUTOR_TOKEN_BUDGET: '10000000', PLANEXEC_PLANNER_TOKEN_BUDGET: '10000000' });
  try {
    const plan = await budgeted.call('plan_task', { request: 'Build the feature in twenty steps' });
    for (let i = 1; i <= 20; i++) await budgeted.call('execute_subtask', { workflow_id: plan.workflow_id, subtask_id: `s${i}` });
    line(`server RSS after the same run with token budgets set (tokenizer loaded): ${rssMb(budgeted.pid).toFixed(1)} MB`);
  } finally {
    await budgeted.close();
  }
}

/** Three waves of six: w1-* (no dependencies), w2-i needs w1-i, w3-i needs w2-i. */
function threeWavesOfSix() {
  const subtasks = [1, 2, 3].flatMap((wave) =>
    Array.from({ length: 6 }, (_, i) => ({
      id: `w${wave}-${i + 1}`,
      title: `Wave ${wave}, part ${i + 1}`,
      description: `Part ${i + 1} of wave ${wave}.`,
      depends_on: wave === 1 ? [] : [`w${wave - 1}-${i + 1}`],
      complexity: 'routine',
      output_format: 'text',
      relevant_files: [],
      writes: [],
      checks: [],
    })),
  );
  return { subtasks, coordination_notes: 'Three waves of six.' };
}

async function benchParallel(dir: string): Promise<void> {
  const LATENCY = 200;
  line();
  line(`== Parallel execution: three waves of six subtasks, ${LATENCY} ms scripted latency per model call ==`);
  const plan = threeWavesOfSix();
  const standin = await startOpenAIStandin({
    latencyMs: LATENCY,
    responder: (req) => (req.schemaName === 'plan' ? { json: plan } : autoResponder(req)),
  });
  try {
    // Critical path: the plan, then per wave one round of executions and one review.
    const bound = (1 + 3 + 3) * LATENCY;
    const config = loadConfig({
      OPENAI_API_KEY: 'bench',
      OPENAI_BASE_URL: standin.baseURL,
      PLANEXEC_DB: join(dir, 'parallel.db'),
      PLANEXEC_ROOT: dir,
      PLANEXEC_LOG_LEVEL: 'silent',
    });
    const { app, runtime, close, warmUp } = await compose(config);
    const timedRun = async (concurrency: number) => {
      const t0 = performance.now();
      const status = await app.runWorkflow({ request: 'Build the feature in three waves', concurrency });
      if (status.phase !== 'completed') throw new Error(`run ended in phase ${status.phase}`);
      return performance.now() - t0;
    };
    try {
      // As in the server, where the SDK is loaded in the background a second after start-up.
      await warmUp();
      const cold = await timedRun(6);
      const warm = await timedRun(6);
      const serial = await timedRun(1);
      const ratio = warm / bound;
      line(`critical-path bound (plan + 3 x (execute + review)): ${ms(bound)}`);
      line(`concurrency 6: wall ${ms(warm)}, ratio wall/bound ${ratio.toFixed(3)} (target <= 1.15: ${verdict(ratio <= 1.15)})`);
      line(`  the first run of the process took ${ms(cold)} (ratio ${(cold / bound).toFixed(3)}): it also opens the first connections and runs every code path for the first time`);
      line(`concurrency 1: wall ${ms(serial)} (bound at concurrency 1: ${ms((1 + 18 + 3) * LATENCY)}); speed-up of concurrency 6: ${(serial / warm).toFixed(2)}x`);
    } finally {
      runtime.stop();
      await close();
    }
  } finally {
    await standin.close();
  }
}

/** Quota units and USD of the stand-in's recorded requests, priced by their model. */
function priced(requests: StandinRequest[]) {
  let quota = 0;
  let usd = 0;
  const byRole = { planner: { input: 0, cached: 0 }, executor: { input: 0, cached: 0 } };
  for (const r of requests) {
    const price = DEFAULT_PRICES[r.model]!;
    const u = r.usage!;
    quota += price.quota;
    usd += priceUsage({ input_tokens: u.inputTokens, cached_tokens: u.cachedTokens, output_tokens: u.outputTokens }, price);
    const role = r.model === 'gpt-5.4' ? byRole.planner : byRole.executor;
    role.input += u.inputTokens;
    role.cached += u.cachedTokens;
  }
  return { quota, usd, byRole, calls: requests.length };
}

const share = (x: { input: number; cached: number }) => (x.input ? `${((100 * x.cached) / x.input).toFixed(1)}% of ${x.input.toLocaleString('en-US')}` : 'no calls');

async function benchArticle(dir: string): Promise<void> {
  line();
  line('== The article\'s example: user authentication, ~5 planner and 45 executor messages ==');
  line('The stand-in counts tokens with o200k (gpt-tokenizer) and caches prefixes from 1,024 matching tokens in 128-token steps.');
  const root = join(dir, 'auth-workspace');
  writeAuthWorkspace(root);
  const standin = await startOpenAIStandin({ responder: authResponder });
  try {
    // Split mode: planexec as shipped (default concurrency, cache priming on).
    const config = loadConfig({ OPENAI_API_KEY: 'bench', OPENAI_BASE_URL: standin.baseURL, PLANEXEC_DB: join(dir, 'article.db'), PLANEXEC_ROOT: root, PLANEXEC_LOG_LEVEL: 'silent' });
    const { app, runtime, close, warmUp } = await compose(config);
    let status;
    try {
      await warmUp();
      status = await app.runWorkflow({ request: AUTH_REQUEST });
    } finally {
      runtime.stop();
      await close();
    }
    if (status.phase !== 'completed') throw new Error(`the split run ended in phase ${status.phase}`);
    const splitRequests = [...standin.requests].sort((a, b) => a.startedAt - b.startedAt);
    const split = priced(splitRequests);
    // The ledger must agree with what the provider reported.
    if (Math.abs((status.cost!.usd ?? 0) - split.usd) > 1e-6) throw new Error(`ledger ${status.cost!.usd} != stand-in ${split.usd}`);

    // Single-model mode: the same messages and answers as one long GPT-5.4 chat, every message
    // carrying the whole conversation so far (previous_response_id), with no structured-output schema.
    standin.reset();
    const client = new OpenAI({ apiKey: 'bench', baseURL: standin.baseURL, maxRetries: 0 });
    let previous: string | null = null;
    for (const r of splitRequests) {
      standin.script({ text: r.outputText ?? '' });
      const response: { id: string } = await client.responses.create({
        model: 'gpt-5.4',
        instructions: PLANNER_INSTRUCTIONS,
        input: r.inputText,
        previous_response_id: previous,
        prompt_cache_key: 'single-chat',
        prompt_cache_retention: '24h',
      });
      previous = response.id;
    }
    const single = priced(standin.requests);

    const money = (x: number) => `$${x.toFixed(4)}`;
    line(`split mode:        ${split.calls} calls (${splitRequests.filter((r) => r.model === 'gpt-5.4').length} planner, ${splitRequests.filter((r) => r.model !== 'gpt-5.4').length} executor): ${split.quota.toFixed(1)} quota units, ${money(split.usd)}`);
    const longest = Math.max(...standin.requests.map((r) => r.usage!.inputTokens));
    line(`single-model mode: ${single.calls} calls on gpt-5.4 in one chat: ${single.quota.toFixed(1)} quota units, ${money(single.usd)} (its last message carried ${longest.toLocaleString('en-US')} input tokens)`);
    const q = split.quota / single.quota;
    const u = split.usd / single.usd;
    line(`quota ratio split/single: ${q.toFixed(3)}x (target <= 0.37: ${verdict(q <= 0.37 + 1e-9)})`);
    line(`USD ratio split/single:   ${u.toFixed(3)}x (target <= 0.25: ${verdict(u <= 0.25)})`);
    line(`cached share of input: split planner ${share(split.byRole.planner)}, split executor ${share(split.byRole.executor)}; single ${share(single.byRole.planner)}`);
    line(`planexec's own ledger for the split run: ${status.cost!.quota_units} quota units, $${status.cost!.usd} vs planner-only baseline $${status.cost!.baseline_usd} (${status.cost!.usd_savings_pct}% saved)`);
  } finally {
    await standin.close();
  }
}

/**
 * The article's table (../shared/seeds/, "Why This Matters"): messages per 5-hour window on a Pro
 * plan, GPT-5.4 at 100% quota consumption, GPT-5.4-mini at ~30%.
 */
const ARTICLE_WINDOW = { 'gpt-5.4': [223, 1120], 'gpt-5.4-mini': [743, 3733] } as const;

/** One run of the article's example through run_workflow with `env` on top of the defaults; the ledger's answer. */
async function articleRun(dir: string, name: string, root: string, baseURL: string, env: Record<string, string> = {}) {
  const config = loadConfig({
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: baseURL,
    PLANEXEC_DB: join(dir, `providers-${name}.db`),
    PLANEXEC_ROOT: root,
    PLANEXEC_LOG_LEVEL: 'silent',
    ...env,
  });
  const { app, runtime, close, warmUp } = await compose(config);
  try {
    await warmUp();
    const status = await app.runWorkflow({ request: AUTH_REQUEST });
    if (status.phase !== 'completed') throw new Error(`the ${name} run ended in phase ${status.phase}`);
    return status;
  } finally {
    runtime.stop();
    await close();
  }
}

/**
 * The fake Codex CLI's script for the article's run, in the order run_workflow makes its calls (the
 * plan, then per wave every execution and one review): each reply carries the usage the stand-in
 * reported for the same call of the responses/responses run (executions within a wave in the order
 * they were sent there). The answers are the stand-in's; a review approves its wave.
 */
function codexScript(requests: StandinRequest[]): FakeCodexReply[] {
  const usageOf = (r: StandinRequest) => ({ input_tokens: r.usage!.inputTokens, cached_input_tokens: r.usage!.cachedTokens, output_tokens: r.usage!.outputTokens });
  const planner = requests.filter((r) => r.model === 'gpt-5.4');
  const executor = requests.filter((r) => r.model !== 'gpt-5.4');
  const waves = new Map<string, string[]>();
  for (const s of authPlan().subtasks) waves.set(s.id.split('s')[0]!, [...(waves.get(s.id.split('s')[0]!) ?? []), s.id]);
  const replies: FakeCodexReply[] = [{ json: authPlan(), usage: usageOf(planner[0]!) }];
  let next = 0;
  [...waves.values()].forEach((ids, w) => {
    for (const _ of ids) {
      const r = executor[next++]!;
      replies.push({ text: r.outputText ?? '', usage: usageOf(r) });
    }
    const reviews = ids.map((subtask_id) => ({ subtask_id, verdict: 'approve', feedback: '' }));
    replies.push({ json: { verdict: 'approve', reviews, summary: `Wave approved: ${ids.length} subtasks.` }, usage: usageOf(planner[w + 1]!) });
  });
  return replies;
}

async function benchProviders(dir: string): Promise<void> {
  line();
  line('== Providers: the article\'s example (1 plan, 45 routine subtasks, 4 reviews) per provider mix ==');
  const root = join(dir, 'providers-workspace');
  writeAuthWorkspace(root);
  const standin = await startOpenAIStandin({ responder: authResponder });
  const rows: Array<{ mix: string; calls: number; cost: NonNullable<Awaited<ReturnType<typeof articleRun>>['cost']> }> = [];
  const money = (x: number | null) => (x === null ? 'n/a' : `$${x.toFixed(4)}`);
  let codexQuota = NaN;
  try {
    const calls = (s: Awaited<ReturnType<typeof articleRun>>) => (s.usage!.planner.calls + s.usage!.executor.calls);
    const responses = await articleRun(dir, 'responses', root, standin.baseURL);
    rows.push({ mix: 'responses / responses (API key)', calls: calls(responses), cost: responses.cost! });
    const reference = [...standin.requests].sort((a, b) => a.startedAt - b.startedAt);

    standin.reset();
    const chat = await articleRun(dir, 'chat', root, standin.baseURL, { PLANEXEC_EXECUTOR_PROVIDER: 'chat' });
    rows.push({ mix: 'responses / chat (gpt-5.4-mini)', calls: calls(chat), cost: chat.cost! });

    standin.reset();
    const local = await articleRun(dir, 'local', root, standin.baseURL, { PLANEXEC_EXECUTOR_PROVIDER: 'chat', PLANEXEC_EXECUTOR_MODEL: 'qwen2.5-coder:32b' });
    rows.push({ mix: 'responses / chat, local model', calls: calls(local), cost: local.cost! });

    // Both roles on the Codex CLI: the fake CLI answers in run order with the same sizes as above.
    const fake = fakeCodexHome(codexScript(reference));
    const saved = Object.fromEntries(Object.keys(fake.env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, { FAKE_CODEX_SCRIPT: fake.env.FAKE_CODEX_SCRIPT, FAKE_CODEX_STATE: fake.env.FAKE_CODEX_STATE, FAKE_CODEX_LOG: fake.env.FAKE_CODEX_LOG, CODEX_HOME: fake.env.CODEX_HOME });
    try {
      const codex = await articleRun(dir, 'codex', root, standin.baseURL, { PLANEXEC_PLANNER_PROVIDER: 'codex', PLANEXEC_EXECUTOR_PROVIDER: 'codex', PLANEXEC_CODEX_BIN: FAKE_CODEX });
      const runs = fake.runs().filter((r) => r.kind === 'exec').length;
      if (runs !== 50) throw new Error(`the codex run made ${runs} CLI runs, not 50`);
      rows.push({ mix: 'codex / codex (ChatGPT plan)', calls: calls(codex), cost: codex.cost! });
      codexQuota = codex.cost!.quota_units!;
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      fake.cleanup();
    }
  } finally {
    await standin.close();
  }
  line(`${'planner / executor'.padEnd(34)}${'calls'.padEnd(7)}${'quota units'.padEnd(13)}${'USD'.padEnd(11)}${'planner alone, same provider'.padEnd(30)}saved`);
  for (const r of rows) {
    const c = r.cost;
    const baseline = `${c.baseline_quota_units} units, ${money(c.baseline_usd)}`;
    const saved = `${c.savings_pct}% quota, ${c.usd_savings_pct === null ? 'n/a' : `${c.usd_savings_pct}%`} USD`;
    line(`${r.mix.padEnd(34)}${String(r.calls).padEnd(7)}${String(c.quota_units).padEnd(13)}${money(c.usd).padEnd(11)}${baseline.padEnd(30)}${saved}${c.subscription_calls ? ` (${c.subscription_calls} calls on the subscription: no USD)` : ''}`);
  }
  line('The local model is served by the stand-in on 127.0.0.1 and is not in the price table: $0 and 0 quota units. The codex');
  line('row runs the fake Codex CLI (test/support/fake-codex.mjs), scripted with the same answers and token counts as the');
  line('first row in run order; the real CLI also sends its own base prompt (~5k tokens) with every call, which a subscription');
  line('does not bill per token.');

  // The article's table: messages per 5-hour window (Pro), GPT-5.4 at 100% quota, mini at ~30%.
  const perMessage = codexQuota / 50;
  const [lo, hi] = ARTICLE_WINDOW['gpt-5.4'];
  const [miniLo, miniHi] = ARTICLE_WINDOW['gpt-5.4-mini'];
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  line();
  line(`Codex (ChatGPT plan), effective messages per 5-hour window, from the article's table: "GPT-5.4 | 100% | 223-1120 (Pro)",`);
  line(`"GPT-5.4-mini | ~30% | 743-3733 (Pro)". A quota unit is one GPT-5.4 message, so the window holds ${lo.toLocaleString('en-US')}-${hi.toLocaleString('en-US')} units.`);
  line(`  single model (all 50 messages on gpt-5.4): 1.00 unit per message -> ${n(lo)}-${n(hi)} messages; ${(lo / 50).toFixed(1)}-${(hi / 50).toFixed(1)} runs of this feature`);
  line(`  split (5 on gpt-5.4, 45 on mini, ledger ${codexQuota} units): ${perMessage.toFixed(2)} unit per message -> ${n(lo / perMessage)}-${n(hi / perMessage)} messages; ${(lo / codexQuota).toFixed(1)}-${(hi / codexQuota).toFixed(1)} runs (${(1 / perMessage).toFixed(2)}x)`);
  line(`  check: mini alone at 0.3 unit -> ${n(lo / 0.3)}-${n(hi / 0.3)} messages; the article says ${miniLo.toLocaleString('en-US')}-${miniHi.toLocaleString('en-US')}`);
}

// ---------------------------------------------------------------------------------------------
// Changes: six edit subtasks over a small repository, checked with `node --test`

const CHANGE_MODULES = 6;
const CHANGES_CHECK = 'node --test';

/** Module k of the changes row's repository: offset<k> subtracts where it should add, and no test catches it yet. */
const moduleText = (k: number) => `export function scale${k}(x) {\n  return x * ${k};\n}\n\nexport function offset${k}(x) {\n  return x - ${k};\n}\n`;
const moduleTest = (k: number) =>
  `import test from 'node:test';\nimport assert from 'node:assert';\nimport { scale${k} } from './mod${k}.mjs';\n\ntest('scale${k}', () => assert.strictEqual(scale${k}(2), ${2 * k}));\n`;

/** A git repository of CHANGE_MODULES modules and their tests, on which `node --test` passes. */
function writeChangesRepo(root: string): void {
  mkdirSync(root, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], { cwd: root, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(root, 'package.json'), '{ "type": "module", "private": true }\n');
  for (let k = 1; k <= CHANGE_MODULES; k++) {
    writeFileSync(join(root, `mod${k}.mjs`), moduleText(k));
    writeFileSync(join(root, `mod${k}.test.mjs`), moduleTest(k));
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'Six modules');
}

/** Subtask fix-k's edits: offset<k> fixed (`wrong`: off by one, so the new test fails) and a test that catches the bug. */
function fixCalls(k: number, wrong: boolean): StandinPatchCall[] {
  return [
    { type: 'update_file', path: `mod${k}.mjs`, diff: `@@ export function offset${k}(x) {\n-  return x - ${k};\n+  return x + ${wrong ? k + 1 : k};\n }\n` },
    {
      type: 'update_file',
      path: `mod${k}.test.mjs`,
      diff: `@@\n-import { scale${k} } from './mod${k}.mjs';\n+import { scale${k}, offset${k} } from './mod${k}.mjs';\n \n test('scale${k}', () => assert.strictEqual(scale${k}(2), ${2 * k}));\n+test('offset${k}', () => assert.strictEqual(offset${k}(1), ${1 + k}));\n`,
    },
  ];
}

/** fix-1..fix-4 in parallel, then fix-5 (after fix-1) and fix-6 (after fix-2); write sets disjoint. */
const changesPlan = () =>
  plan(
    Array.from({ length: CHANGE_MODULES }, (_, i) => {
      const k = i + 1;
      const files = [`mod${k}.mjs`, `mod${k}.test.mjs`];
      return { id: `fix-${k}`, depends_on: k === 5 ? ['fix-1'] : k === 6 ? ['fix-2'] : [], relevant_files: files, writes: files, checks: [CHANGES_CHECK] };
    }),
  );

interface Span {
  start: number;
  end: number;
}
interface GitSpan extends Span {
  args: readonly string[];
  input: string | undefined;
}
/** An in-process turn of a workflow's apply lock: asked for at `called`, held from `start` to `end`. */
interface Hold extends Span {
  called: number;
}

/** The stand-in's clock (performance.timeOrigin + performance.now()), so its request times compare. */
const clock = () => performance.timeOrigin + performance.now();

/**
 * Records, without changing what they do, every git spawn (GitExec.run, patched on the prototype
 * until `restore`), every command the composed runner starts (checks), and every turn of an apply
 * lock (runtime.serialize with an 'apply:' key) of the composed app.
 */
function instrument(composed: Awaited<ReturnType<typeof compose>>) {
  const git: GitSpan[] = [];
  const checks: Span[] = [];
  const holds: Hold[] = [];
  const gitRun = GitExec.prototype.run;
  GitExec.prototype.run = function (this: GitExec, args, opts) {
    const span: GitSpan = { args, input: opts.input, start: clock(), end: NaN };
    git.push(span);
    return gitRun.call(this, args, opts).finally(() => (span.end = clock()));
  };
  const commands = composed.commands;
  const run = commands.run.bind(commands);
  commands.run = (request) => {
    const span: Span = { start: clock(), end: NaN };
    checks.push(span);
    return run(request).finally(() => (span.end = clock()));
  };
  const runtime = composed.runtime;
  const serialize = runtime.serialize.bind(runtime);
  runtime.serialize = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    if (!key.startsWith('apply:')) return serialize(key, fn);
    const hold: Hold = { called: clock(), start: NaN, end: NaN };
    holds.push(hold);
    return serialize(key, async () => {
      hold.start = clock();
      try {
        return await fn();
      } finally {
        hold.end = clock();
      }
    });
  };
  return {
    git,
    checks,
    holds,
    clear: () => void [git, checks, holds].forEach((xs) => xs.splice(0)),
    restore: () => void (GitExec.prototype.run = gitRun),
  };
}

/** Milliseconds of [from, to] covered by at least one of `spans` (spans that overlap count once). */
function covered(spans: readonly Span[], from: number, to: number): number {
  const parts = spans.map((s) => [Math.max(s.start, from), Math.min(s.end, to)] as const).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of parts) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** Per committed attempt: model answer -> commit made, the apply-lock wait in between, git's part of the rest. */
interface Landing {
  subtask: string;
  /** Answer received (stand-in) to `git commit` returned, ms. */
  answerToCommit: number;
  /** Waiting for the workflow's apply lock while other subtasks applied, committed and ran checks. */
  lockWait: number;
  /** answerToCommit - lockWait: planexec's own apply + commit. */
  own: number;
  /** Time in git spawns within `own`, and which ('status commit'). */
  git: number;
  gitSpawns: string;
  /** After the commit, until the lock is released, without the checks: diff and recording. */
  afterCommit: number;
}

/** The git command of a GitExec.run call ('commit' of ['-c', 'core.abbrev=40', 'commit', ...]). */
function gitVerb(args: readonly string[]): string {
  let i = 0;
  while (args[i] === '-c') i += 2;
  return args[i] ?? '?';
}

function landings(spans: ReturnType<typeof instrument>, requests: readonly StandinRequest[]): Landing[] {
  const out: Landing[] = [];
  // The message is an argument (--message=…; stdin carries the paths).
  const messageOf = (g: { args: readonly string[] }) => g.args.find((a) => a.startsWith('--message=')) ?? '';
  for (const commit of spans.git.filter((g) => g.args.includes('commit') && messageOf(g).includes('Planexec-Subtask:'))) {
    const subtask = /Planexec-Subtask: (\S+)/.exec(messageOf(commit))![1]!;
    const hold = spans.holds.find((h) => h.start <= commit.start && commit.end <= h.end)!;
    const answer = requests
      .filter((r) => r.schemaName === null && subtaskOf(r) === subtask && r.endedAt !== null && r.endedAt <= hold.called)
      .reduce((a, b) => (b.endedAt! > a.endedAt! ? b : a));
    const answerToCommit = commit.end - answer.endedAt!;
    const lockWait = hold.start - hold.called;
    const inOwn = spans.git.filter((g) => g.start >= hold.start && g.end <= commit.end);
    if (process.env.BENCH_DEBUG) {
      const t = (x: number) => (x - answer.endedAt!).toFixed(1);
      process.stderr.write(`${subtask}: called ${t(hold.called)} start ${t(hold.start)} ${inOwn.map((g) => `[${g.args.find((a, i) => i > 0 && !a.startsWith('-') && g.args[i - 1] !== '-c')} ${t(g.start)}-${t(g.end)}]`).join(' ')} commit end ${t(commit.end)}\n`);
    }
    out.push({
      subtask,
      answerToCommit,
      lockWait,
      own: answerToCommit - lockWait,
      git: inOwn.reduce((n, g) => n + (g.end - g.start), 0),
      gitSpawns: inOwn.map((g) => gitVerb(g.args)).join(', '),
      afterCommit: hold.end - commit.end - covered(spans.checks, commit.end, hold.end),
    });
  }
  return out;
}

async function benchChanges(dir: string): Promise<void> {
  const LATENCY = 200;
  const RUNS = 5;
  line();
  line(`== Changes: ${CHANGE_MODULES} edit subtasks over a small git repository, check \`${CHANGES_CHECK}\`, ${LATENCY} ms per model call ==`);
  // Git spawns and checks are processes: their figures follow the machine's load (other work on it).
  line(`machine: ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (1, 5, 15 min) at the start`);
  const root = join(dir, 'changes-repo');
  writeChangesRepo(root);
  let failFirst: string | null = null;
  const attempts = new Map<string, number>();
  const standin = await startOpenAIStandin({
    latencyMs: LATENCY,
    responder: workflowResponder(changesPlan(), {
      plannerDelayMs: LATENCY,
      executor: (id) => {
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        const k = Number(id.slice('fix-'.length));
        return { patchCalls: fixCalls(k, id === failFirst && n === 1), text: `offset${k} adds now; a test covers it.`, delayMs: LATENCY };
      },
    }),
  });
  const config = loadConfig({
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: standin.baseURL,
    PLANEXEC_DB: join(dir, 'changes.db'),
    PLANEXEC_ROOT: root,
    PLANEXEC_WORKTREES: join(dir, 'changes-worktrees'),
    PLANEXEC_LOG_LEVEL: 'silent',
  });
  const composed = await compose(config);
  const spans = instrument(composed);
  try {
    await composed.warmUp();
    const run = async (failing: string | null) => {
      standin.reset();
      spans.clear();
      attempts.clear();
      failFirst = failing;
      const t0 = clock();
      const status = await composed.app.runWorkflow({ request: `Fix offset1..offset${CHANGE_MODULES} and add the tests that catch them`, checks: [CHANGES_CHECK] });
      const t1 = clock();
      if (status.phase !== 'completed') throw new Error(`the changes run ended in phase ${status.phase}`);
      if (!status.changes?.final_checks?.every((c) => c.passed)) throw new Error('the changes run ended without a green branch');
      const requests = [...standin.requests];
      const wall = t1 - t0;
      return {
        status,
        wall,
        git: covered(spans.git, t0, t1),
        gitSpawns: spans.git.length,
        checks: covered(spans.checks, t0, t1),
        checkRuns: spans.checks.length,
        models: covered(requests.map((r) => ({ start: r.startedAt, end: r.endedAt ?? r.startedAt })), t0, t1),
        landings: landings(spans, requests),
        calls: requests.map((r) => r.schemaName ?? `exec:${subtaskOf(r)}`),
      };
    };
    // The first run of the process also opens the connections and runs every code path for the first time.
    const cold = await run(null);
    const warm: Array<Awaited<ReturnType<typeof run>>> = [];
    for (let i = 0; i < RUNS; i++) warm.push(await run(null));
    const retry = await run('fix-3');
    if (retry.calls.filter((c) => c === 'exec:fix-3').length !== 2) throw new Error(`fix-3 was not retried once: ${retry.calls.join(', ')}`);

    const walls = warm.map((r) => r.wall);
    const p50Run = [...warm].sort((a, b) => a.wall - b.wall)[Math.floor((RUNS - 1) / 2)]!;
    const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(1)}%`;
    const all = warm.flatMap((r) => r.landings);
    const of = (f: (l: Landing) => number, p: number) => percentile(all.map(f), p);
    const ownP50 = of((l) => l.own, 50);
    line(`${RUNS} runs after a first one (${ms(cold.wall)}): 1 plan, wave 1 (fix-1..fix-4 in parallel), wave 2 (fix-5, fix-6), a review per wave; every attempt commits, then runs \`${CHANGES_CHECK}\` (${CHANGE_MODULES} test files)`);
    line(`wall-clock of run_workflow: p50 ${ms(percentile(walls, 50))}, min ${ms(Math.min(...walls))}, max ${ms(Math.max(...walls))}`);
    line(
      `  the median run: git ${ms(p50Run.git)} (${pct(p50Run.git, p50Run.wall)}, ${p50Run.gitSpawns} spawns), checks ${ms(p50Run.checks)} (${pct(p50Run.checks, p50Run.wall)}, ${p50Run.checkRuns} runs: the base and ${CHANGE_MODULES} attempts; the final check is not run again when the last attempt's passing checks ran on the branch's head), model calls ${ms(p50Run.models)} (${pct(p50Run.models, p50Run.wall)}); shares of wall-clock, time covered by at least one such process or call (they overlap one another)`,
    );
    line(`planexec's own apply + commit per subtask (model answer -> commit made, minus waiting for the workflow's apply lock), ${all.length} subtasks:`);
    line(`  p50 ${ms(ownP50)}, p90 ${ms(of((l) => l.own, 90))}, max ${ms(Math.max(...all.map((l) => l.own)))} (target p50 <= 50 ms: ${verdict(ownP50 <= 50)})`);
    const sequences = new Map<string, number>();
    for (const l of all) sequences.set(l.gitSpawns, (sequences.get(l.gitSpawns) ?? 0) + 1);
    const spawns = [...sequences].sort((a, b) => b[1] - a[1]).map(([seq, n]) => `${seq} (${n}x)`).join('; ');
    line(`  of which in git: p50 ${ms(of((l) => l.git, 50))}; the spawns: ${spawns}`);
    line(`  answer -> commit as measured, lock wait included: p50 ${ms(of((l) => l.answerToCommit, 50))}, p90 ${ms(of((l) => l.answerToCommit, 90))}; the wait alone: p50 ${ms(of((l) => l.lockWait, 50))}, max ${ms(Math.max(...all.map((l) => l.lockWait)))}`);
    line(`  after the commit, without the checks (diffs, recording, the lock released): p50 ${ms(of((l) => l.afterCommit, 50))}`);
    const money = (x: number | null | undefined) => `$${(x ?? NaN).toFixed(4)}`;
    const clean = warm[0]!.status.cost!;
    const retried = retry.status.cost!;
    const callsOf = (r: typeof retry) => `${r.calls.length} calls (${r.calls.filter((c) => c === 'plan' || c === 'review').length} planner)`;
    line(`to a green branch (final \`${CHANGES_CHECK}\` passing), planexec's own ledger (workflow_status cost):`);
    line(`  every first attempt passes:        ${callsOf(warm[0]!)}, ${clean.quota_units} quota units, ${money(clean.usd)}`);
    line(`  fix-3's first attempt fails check: ${callsOf(retry)}, ${retried.quota_units} quota units, ${money(retried.usd)}; wall ${ms(retry.wall)}`);
    line(`  the retry's cost: ${((retried.quota_units ?? NaN) - (clean.quota_units ?? NaN)).toFixed(2)} quota units, ${money((retried.usd ?? NaN) - (clean.usd ?? NaN))}; calls in order: ${retry.calls.join(', ')}`);
  } finally {
    spans.restore();
    composed.runtime.stop();
    await composed.close();
    await standin.close();
  }
}

/** The stand-in's own timings, which tests must not assert: latency honoured, overrides, retries, close. */
async function benchStandin(): Promise<void> {
  line();
  line('== The local OpenAI stand-in: its own timings (the tests check its behaviour, these its speed) ==');
  const slow = await startOpenAIStandin({ latencyMs: 150 });
  try {
    const c = new OpenAI({ baseURL: slow.baseURL, apiKey: 'k', maxRetries: 0 });
    await Promise.all(['a', 'b', 'c'].map((input) => c.responses.create({ model: 'gpt-exec', input })));
    const took = slow.requests.map((r) => (r.endedAt ?? 0) - r.startedAt);
    line(`three concurrent requests at latencyMs 150: each took ${took.map(ms).join(', ')} (expected >= 150 ms, overlapping)`);
    slow.script({ text: 'quick', delayMs: 0 });
    let t0 = performance.now();
    await c.responses.create({ model: 'gpt-exec', input: 'fast' });
    line(`a reply with delayMs 0 overriding latencyMs 150: ${ms(performance.now() - t0)}`);
    const retrying = new OpenAI({ baseURL: slow.baseURL, apiKey: 'k', maxRetries: 2 });
    const fast = { headers: { 'retry-after-ms': '0' }, delayMs: 0 };
    slow.script({ error: { status: 503, message: 'overloaded' }, ...fast }, { error: { status: 429, message: 'slow down' }, ...fast }, { text: 'third', delayMs: 0 });
    t0 = performance.now();
    await retrying.responses.create({ model: 'gpt-exec', input: 'retry' });
    line(`two retries with retry-after-ms 0: ${ms(performance.now() - t0)}`);
    slow.script({ hang: true });
    const hanging = c.responses.create({ model: 'gpt-exec', input: 'hang' }).catch(() => undefined);
    while (slow.requests.at(-1)?.inputText !== 'hang') await new Promise((r) => setTimeout(r, 5));
    t0 = performance.now();
    await slow.close();
    await hanging;
    line(`close() with a hanging request: ${ms(performance.now() - t0)}`);
  } finally {
    await slow.close();
  }
}

/** The sections, in the order they run; `npm run bench -- changes parallel` runs only those named. */
const SECTIONS = ['core', 'parallel', 'article', 'providers', 'changes', 'stores', 'standin'] as const;

async function main(): Promise<void> {
  const named = process.argv.slice(2);
  const unknown = named.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`unknown section(s) ${unknown.join(', ')}; the sections are ${SECTIONS.join(', ')}`);
  const wanted = (name: (typeof SECTIONS)[number]) => named.length === 0 || named.includes(name);
  const dir = mkdtempSync(join(tmpdir(), 'planexec-bench-'));
  const standin = await startOpenAIStandin();
  try {
    line(`planexec bench, Node ${process.version}, ${new Date().toISOString()}`);
    line('All model calls go to the local OpenAI stand-in; figures are server-side costs, not model latency.');
    line();
    if (wanted('core')) await benchCore(standin, dir);
    if (wanted('parallel')) await benchParallel(dir);
    if (wanted('article')) await benchArticle(dir);
    if (wanted('providers')) await benchProviders(dir);
    if (wanted('changes')) await benchChanges(dir);
    if (wanted('stores')) await benchStores();
    if (wanted('standin')) await benchStandin();
  } finally {
    await standin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

// SQLite next to PostgreSQL, with the built server over stdio against the local stand-in (zero model
// latency): workflow_status p50, execute_subtask server overhead p50, and the throughput of 20
// workflows run by 4 server processes on one database. Part of `npm run bench`; alone:
// `npx tsx scripts/bench-stores.ts` (after `npm run build`). PLANEXEC_BENCH_PG_URL names a server to
// use (a schema is made in it per run and dropped); otherwise a throw-away PostgreSQL cluster is
// started (test/support/pg-cluster.ts) with synchronous_commit off, the durability of SQLite's WAL
// with synchronous=NORMAL that planexec uses (a crash of the machine may lose the last commits, never
// corrupts). Figures only; nothing is asserted.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { autoResponder, startOpenAIStandin, type OpenAIStandin, type StandinRequest } from '../test/support/openai-standin.js';
import { startPgCluster } from '../test/support/pg-cluster.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI } from './lib/stdio-client.js';
import { chainPlan, percentile } from './lib/bench-kit.js';

const line = (s = '') => process.stdout.write(`${s}\n`);

/**
 * The built server over stdio with the SDK's Client (as scripts/lib/stdio-client.ts), keeping the
 * tail of its stderr: a call that fails says what the server logged.
 */
async function connectServer(env: Record<string, string>) {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const client = new Client({ name: 'planexec-bench', version: '1.0.0' });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`the server did not start: ${(error as Error).message}; its stderr ends with:\n${stderr}`);
  }
  return {
    async call(name: string, args: Record<string, unknown> = {}): Promise<any> {
      let result;
      try {
        result = await client.callTool({ name, arguments: args }, undefined, { timeout: 15 * 60_000 });
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}; the server's stderr ends with:\n${stderr}`);
      }
      if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
      return result.structuredContent;
    },
    close: () => client.close(),
  };
}
const ms = (n: number) => `${n.toFixed(1)} ms`;


/** Three waves of four: w2-i needs w1-i, w3-i needs w2-i. */
function wavesPlan() {
  const subtasks = [1, 2, 3].flatMap((wave) =>
    Array.from({ length: 4 }, (_, i) => ({
      id: `w${wave}-${i + 1}`,
      title: `Wave ${wave}, part ${i + 1}`,
      description: `Part ${i + 1} of wave ${wave}.`,
      depends_on: wave === 1 ? [] : [`w${wave - 1}-${i + 1}`],
      complexity: 'routine',
      output_format: 'text',
      relevant_files: [],
    })),
  );
  return { subtasks, coordination_notes: 'Three waves of four.' };
}

interface Throughput {
  wallMs: number;
  workflowsPerSecond: number;
  modelCalls: number;
}

interface Row {
  store: string;
  statusP50: number;
  overheadP50: number;
  /** Zero model latency: the servers and the database are all the work. */
  fast: Throughput;
  /** SLOW_LATENCY_MS per model call, as models answer (still far quicker than real ones). */
  slow: Throughput;
}

const SLOW_LATENCY_MS = 200;
/** Subtasks of the chain whose executions give the execute_subtask figure (one sample each). */
const CHAIN = 40;

const FEATURE_TS = Array.from({ length: 40 }, (_, i) => `export function step${i}(input: number): number {\n  return input * ${i + 2} + ${i};\n}\n`).join('\n');

/** The per-call figures and the 4-process throughput on one database (`db`: a file path or a URL; `fresh` gives another one). */
async function measure(name: string, standin: OpenAIStandin, slowStandin: OpenAIStandin, root: string, fresh: () => Promise<string>): Promise<Row> {
  const base = { OPENAI_API_KEY: 'bench', OPENAI_BASE_URL: standin.baseURL, PLANEXEC_ROOT: root, PLANEXEC_LOG_LEVEL: 'warn' };

  // Per call: a 40-subtask chain executed one subtask at a time, then 200 workflow_status calls.
  standin.reset();
  const chain = chainPlan(CHAIN);
  standin.setResponder((req: StandinRequest) => (req.schemaName === 'plan' ? { json: chain } : autoResponder(req)));
  const server = await connectServer({ ...base, PLANEXEC_DB: await fresh() });
  const overheads: number[] = [];
  const statusTimes: number[] = [];
  try {
    // Warm-up outside the measured runs (first token count, first statements, the pool's connections).
    const warm = await server.call('plan_task', { request: 'Warm-up workflow' });
    await server.call('execute_subtask', { workflow_id: warm.workflow_id });
    for (let i = 0; i < 20; i++) await server.call('workflow_status', { workflow_id: warm.workflow_id });
    const { workflow_id } = await server.call('plan_task', { request: `Build the feature in ${CHAIN} steps` });
    for (let i = 1; i <= CHAIN; i++) {
      const before = standin.requests.length;
      const t0 = performance.now();
      await server.call('execute_subtask', { workflow_id, subtask_id: `s${i}` });
      const elapsed = performance.now() - t0;
      const modelTime = standin.requests.slice(before).reduce((sum, r) => sum + ((r.endedAt ?? r.startedAt) - r.startedAt), 0);
      overheads.push(elapsed - modelTime);
    }
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await server.call('workflow_status', { workflow_id });
      statusTimes.push(performance.now() - t0);
    }
  } finally {
    await server.close();
  }

  const fast = await throughput(name, standin, base, await fresh());
  const slow = await throughput(name, slowStandin, { ...base, OPENAI_BASE_URL: slowStandin.baseURL }, await fresh());
  return { store: name, statusP50: percentile(statusTimes, 50), overheadP50: percentile(overheads, 50), fast, slow };
}

/**
 * 4 server processes on one database, 5 workflows each (run_workflow, one after the other per
 * process): 20 workflows of 12 subtasks in three waves, 1 plan + 12 executions + 3 reviews each.
 */
async function throughput(name: string, standin: OpenAIStandin, env: Record<string, string>, db: string): Promise<Throughput> {
  standin.reset();
  const waves = wavesPlan();
  standin.setResponder((req: StandinRequest) => (req.schemaName === 'plan' ? { json: waves } : autoResponder(req)));
  // All four start at once, as a team's would; if one cannot, the others are closed before saying so.
  const started = await Promise.allSettled(Array.from({ length: 4 }, () => connectServer({ ...env, PLANEXEC_DB: db })));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    await Promise.all(servers.map((s) => s.call('workflow_status', {})));
    const t0 = performance.now();
    await Promise.all(
      servers.map(async (s, p) => {
        for (let w = 0; w < 5; w++) {
          const status = await s.call('run_workflow', { request: `Workflow ${w + 1} of process ${p + 1}` });
          if (status.phase !== 'completed') throw new Error(`${name}: a run ended in phase ${status.phase}`);
        }
      }),
    );
    const wallMs = performance.now() - t0;
    return { wallMs, workflowsPerSecond: 20 / (wallMs / 1000), modelCalls: standin.requests.length };
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

/** Prints the SQLite and PostgreSQL rows (see the file's head). */
export async function benchStores(): Promise<void> {
  line();
  line('== Stores: SQLite next to PostgreSQL (built server over stdio, zero model latency) ==');
  const dir = mkdtempSync(join(tmpdir(), 'planexec-bench-stores-'));
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'feature.ts'), FEATURE_TS);
  const standin = await startOpenAIStandin();
  const slowStandin = await startOpenAIStandin({ latencyMs: SLOW_LATENCY_MS });
  const given = process.env.PLANEXEC_BENCH_PG_URL?.trim();
  const cluster = given ? null : await startPgCluster({ settings: { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'off' } });
  const serverUrl = given ?? cluster!.url;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const schemas: string[] = [];
  try {
    const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    line(`PostgreSQL ${version} on loopback (${given ? 'PLANEXEC_BENCH_PG_URL' : 'a throw-away cluster: synchronous_commit off, fsync on'}); SQLite: a WAL file, synchronous NORMAL.`);
    let n = 0;
    const sqlite = await measure('SQLite', standin, slowStandin, dir, async () => join(dir, `stores-${++n}.db`));
    const postgres = await measure('PostgreSQL', standin, slowStandin, dir, async () => {
      const schema = `bench_${randomBytes(4).toString('hex')}`;
      await admin.query(`CREATE SCHEMA ${schema}`);
      schemas.push(schema);
      const url = new URL(serverUrl);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return url.toString();
    });
    line(`machine load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores: PostgreSQL's round trips wait for its own processes, so its figures grow with the load more than SQLite's (in-process)`);
    const tp = (t: Throughput) => `${(t.wallMs / 1000).toFixed(2)} s, ${t.workflowsPerSecond.toFixed(2)}/s`;
    line(`${'store'.padEnd(12)}${'workflow_status p50'.padEnd(21)}${'execute_subtask overhead p50'.padEnd(30)}${'20 workflows, 4 processes'.padEnd(27)}same, ${SLOW_LATENCY_MS} ms per model call`);
    for (const r of [sqlite, postgres]) {
      line(`${r.store.padEnd(12)}${ms(r.statusP50).padEnd(21)}${ms(r.overheadP50).padEnd(30)}${tp(r.fast).padEnd(27)}${tp(r.slow)}`);
    }
    line(`(each run: ${sqlite.fast.modelCalls} model calls: per workflow 1 plan, 12 executions in three waves of four, 3 reviews)`);
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    const verdict = (x: number) => (x <= 3 ? 'meets target' : 'MISSES target');
    line(
      `PostgreSQL / SQLite: workflow_status ${ratio(postgres.statusP50, sqlite.statusP50)}x (target <= 3x: ${verdict(postgres.statusP50 / sqlite.statusP50)}), ` +
        `execute_subtask overhead ${ratio(postgres.overheadP50, sqlite.overheadP50)}x (target <= 3x: ${verdict(postgres.overheadP50 / sqlite.overheadP50)}), ` +
        `throughput ${ratio(postgres.fast.workflowsPerSecond, sqlite.fast.workflowsPerSecond)}x at zero latency, ${ratio(postgres.slow.workflowsPerSecond, sqlite.slow.workflowsPerSecond)}x at ${SLOW_LATENCY_MS} ms`,
    );
  } finally {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
    await cluster?.stop();
    await standin.close();
    await slowStandin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('bench-stores.ts')) {
  benchStores().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}

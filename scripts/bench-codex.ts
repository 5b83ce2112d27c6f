// Prints what the codex provider costs per call on top of the CLI itself, against the fake Codex CLI
// (test/support/fake-codex.mjs, a Node script: its own start-up dominates): median and p90 of N runs of
// a bare spawn of the fake (argv, prompt on stdin, stdout read), the same call through
// CodexCliProvider.generate (private folder, argument building, scrubbed env, process group, JSONL
// parsing, usage share), a resumed planner call, and parsing a large answer's events in process.
// Figures only; nothing is asserted. Usage: npx tsx scripts/bench-codex.ts [runs]
import { spawn } from 'node:child_process';
import { codexExecArgs } from '../src/adapters/codex/codex-args.js';
import { parseCodexEvents } from '../src/adapters/codex/codex-events.js';
import { CodexCliProvider } from '../src/adapters/codex/codex-provider.js';
import type { ModelRequest } from '../src/core/ports.js';
import { FAKE_CODEX, fakeCodexHome } from '../test/support/fake-codex-kit.js';

const runs = Number(process.argv[2] ?? 20);
const home = fakeCodexHome([], { text: 'the answer', usage: { input_tokens: 1000, cached_input_tokens: 0, output_tokens: 10 } });
const provider = new CodexCliProvider({ bin: FAKE_CODEX, timeoutMs: 60_000, env: home.env, tempDir: home.dir });
const request: ModelRequest = { model: 'gpt-5.4-mini', role: 'executor', instructions: 'You are the executor.', input: 'Write the User type.', cacheKey: 'planexec-executor' };

function bareSpawn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const argv = codexExecArgs({ model: 'gpt-5.4-mini', cwd: home.workdir, sandbox: 'read-only', ephemeral: true, developerInstructions: 'You are the executor.' });
    const child = spawn(FAKE_CODEX, argv, { cwd: home.workdir, env: home.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', () => {
      if (parseCodexEvents(out).text !== 'the answer') reject(new Error('no answer'));
      else resolve();
    });
    child.stdin.end('Write the User type.');
  });
}

const times: Record<string, number[]> = { 'bare spawn of the fake + read': [], 'provider.generate (executor, ephemeral)': [], 'provider.generate (planner, exec resume)': [] };
async function timed(name: string, fn: () => Promise<unknown>): Promise<void> {
  const t = performance.now();
  await fn();
  times[name]!.push(performance.now() - t);
}

const first = performance.now();
await provider.generate(request);
const firstMs = performance.now() - first;
let head = (await provider.generate({ ...request, role: 'planner', model: 'gpt-5.4' })).responseId;
for (let i = 0; i < runs; i += 1) {
  await timed('bare spawn of the fake + read', bareSpawn);
  await timed('provider.generate (executor, ephemeral)', () => provider.generate(request));
  await timed('provider.generate (planner, exec resume)', async () => {
    head = (await provider.generate({ ...request, role: 'planner', model: 'gpt-5.4', previousResponseId: head })).responseId;
  });
}

// Parsing alone: a 200 KB answer plus 50 command items, fed in 64 KB chunks as a pipe delivers them.
const big = [
  JSON.stringify({ type: 'thread.started', thread_id: '01a228df-2e07-7281-a769-cad02606aef9' }),
  JSON.stringify({ type: 'turn.started' }),
  ...Array.from({ length: 50 }, (_, i) => JSON.stringify({ type: 'item.completed', item: { id: `item_${i}`, type: 'command_execution', command: 'ls', aggregated_output: 'x'.repeat(2000), exit_code: 0, status: 'completed' } })),
  JSON.stringify({ type: 'item.completed', item: { id: 'item_x', type: 'agent_message', text: 'y'.repeat(200_000) } }),
  JSON.stringify({ type: 'turn.completed', usage: { input_tokens: 1, cached_input_tokens: 0, output_tokens: 1 } }),
].join('\n');
const parseTimes: number[] = [];
for (let i = 0; i < runs; i += 1) {
  const t = performance.now();
  parseCodexEvents(big);
  parseTimes.push(performance.now() - t);
}
times[`parse ${Math.round(big.length / 1024)} KB of events`] = parseTimes;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;
console.log(`codex provider against the fake CLI, ${runs} runs each (node ${process.version})`);
console.log(`  first call (sign-in check + call):        ${ms(firstMs)}`);
for (const [name, xs] of Object.entries(times)) console.log(`  ${name.padEnd(42)} p50 ${ms(pct(xs, 0.5)).padStart(9)}  p90 ${ms(pct(xs, 0.9)).padStart(9)}`);
const overhead = pct(times['provider.generate (executor, ephemeral)']!, 0.5) - pct(times['bare spawn of the fake + read']!, 0.5);
console.log(`  provider overhead over a bare spawn (p50 difference): ${ms(overhead)}`);

await provider.dispose();
home.cleanup();

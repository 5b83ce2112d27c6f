// Prints the wall time of the git side of "changes" on a small repository (median and p90 of N runs):
// commit of one edited file, diff base..HEAD, a fast-forward merge into the root, and the cost of
// spawning git / a check at all. Figures only; nothing is asserted (target: <= 50 ms p50 planexec
// overhead per subtask, apply + commit). Usage: npx tsx scripts/bench-changes.ts [runs]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitChanges } from '../src/adapters/git/git-changes.js';
import { runCommand } from '../src/adapters/process/run-command.js';

const runs = Number(process.argv[2] ?? 20);
const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
const gitEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();

const dir = mkdtempSync(join(tmpdir(), 'planexec-bench-changes-'));
const root = join(dir, 'repo');
mkdirSync(join(root, 'src'), { recursive: true });
git(root, 'init', '-q', '-b', 'main');
git(root, 'config', 'user.name', 'Bench');
git(root, 'config', 'user.email', 'bench@example.com');
for (let i = 0; i < 200; i += 1) writeFileSync(join(root, 'src', `file-${i}.ts`), `export const value${i} = ${i};\n`.repeat(20));
git(root, 'add', '-A');
git(root, 'commit', '-qm', 'initial');
const base = git(root, 'rev-parse', 'HEAD');

const changes = new GitChanges({ env });
const wt = join(dir, 'worktrees', 'wf-bench');
const times: Record<string, number[]> = { 'git --version (spawn only)': [], 'runCommand true': [], 'runInWorktree true': [], 'commit (1 file)': [], 'diff base..HEAD': [], 'merge (fast-forward)': [], 'status (clean)': [] };

async function timed(name: string, fn: () => Promise<unknown>): Promise<void> {
  const t = performance.now();
  await fn();
  times[name]!.push(performance.now() - t);
}

const created = performance.now();
await changes.createWorktree({ root, branch: 'planexec/wf-bench', path: wt, base });
const createMs = performance.now() - created;

for (let i = 0; i < runs + 2; i += 1) {
  const record = i >= 2; // the first two warm caches and the JIT
  const maybe = (name: string, fn: () => Promise<unknown>) => (record ? timed(name, fn) : fn());
  await maybe('git --version (spawn only)', () => changes.git.run(['--version'], { cwd: root }));
  await maybe('runCommand true', () => runCommand({ argv: ['true'], cwd: wt, timeoutMs: 10_000 }));
  await maybe('runInWorktree true', () => changes.runInWorktree(wt, { argv: ['true'], timeoutMs: 10_000 }));
  writeFileSync(join(wt, 'src', `file-${i % 200}.ts`), `export const changed = ${i};\n`);
  await maybe('commit (1 file)', () => changes.commit({ worktree: wt, message: `attempt ${i}`, trailers: { 'Planexec-Workflow': 'wf-bench', 'Planexec-Attempt': String(i) } }));
  await maybe('diff base..HEAD', () => changes.diff({ worktree: wt, from: base }));
  await maybe('status (clean)', () => changes.status(wt));
  await maybe('merge (fast-forward)', () => changes.merge({ root, branch: 'planexec/wf-bench' }));
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))]!;
console.log(`git ${git(root, '--version').replace('git version ', '')}, node ${process.version}, ${runs} runs, repo of 200 files`);
console.log(`createWorktree (once): ${createMs.toFixed(1)} ms`);
for (const [name, xs] of Object.entries(times)) console.log(`${name.padEnd(28)} p50 ${pct(xs, 0.5).toFixed(1).padStart(6)} ms   p90 ${pct(xs, 0.9).toFixed(1).padStart(6)} ms`);
rmSync(dir, { recursive: true, force: true });

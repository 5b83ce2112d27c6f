// Issue 7, E: `npm run demo` (scripts/demo.ts, over the built server) completes offline against the
// stand-in and says so, drives run_workflow, prints each subtask's output bounded (no paging hint:
// its database goes with its folder), names a custom OPENAI_BASE_URL as such, and leaves no temporary folder behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIStandin } from '../support/openai-standin.js';
import { CLI } from '../support/spawn.js';

const TSX = resolve('node_modules/tsx/dist/cli.mjs');
let tmp: string;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the demo with `env` (and TMPDIR set to a private folder), to its end. */
function demo(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  tmp = mkdtempSync(join(tmpdir(), 'planexec-demo-test-'));
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [TSX, 'scripts/demo.ts'], { env: { PATH: process.env.PATH ?? '', HOME: tmp, TMPDIR: tmp, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** The temporary folder the demo named was made under TMPDIR and is gone (tsx keeps its own cache there). */
function expectFolderRemoved(stdout: string): void {
  const folder = /Temporary folder \(removed at the end\): (\S+)/.exec(stdout)?.[1];
  expect(folder?.startsWith(join(tmp, 'planexec-demo-'))).toBe(true);
  expect(existsSync(folder!)).toBe(false);
  expect(readdirSync(tmp).filter((name) => name.startsWith('planexec-'))).toEqual([]);
}

describe('npm run demo', () => {
  it('runs offline against the stand-in, labelled, prints every output bounded, without paging hints for the database it removes, and removes its folder', async () => {
    const { code, stdout, stderr } = await demo({});
    expect(stderr).not.toMatch(/demo failed/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^OPENAI_API_KEY is not set, so this demo runs against planexec's LOCAL OPENAI-COMPATIBLE STAND-IN:/);
    expect(stdout).toContain('No model is called, nothing is billed.');
    expect(stdout).toContain('These figures come from the local stand-in, not from OpenAI.');
    expect(stdout).toMatch(/run_workflow: "Add rate limiting/);
    expect(stdout).toMatch(/workflow wf-\w+: completed, 4 subtasks/);
    for (const id of ['s1', 's2', 's3', 's4']) expect(stdout).toMatch(new RegExp(`--- Output of ${id} \\(.+\\), [\\d,]+ characters ---`));
    // The implementation's output (1,003 characters) is cut at 600, with the call that pages the rest.
    expect(stdout).toContain('export function retryAfterSeconds(ip, now = Date.now()) {');
    expect(stdout).toContain('[... 403 more characters, not shown here]');
    // No workflow_status call to page it: the demo's database is gone when it ends.
    expect(stdout).not.toMatch(/workflow_status \{"workflow_id"/);
    expect(stdout).not.toContain("res.status(429).set('Retry-After'");
    expect(stdout).toMatch(/planner +responses\/gpt-5\.4 +\d+ calls/);
    expect(stdout).toMatch(/Quota units: [\d.]+ with the split vs [\d.]+ on the planner model alone/);
    expectFolderRemoved(stdout);
  });

  it('names a custom OPENAI_BASE_URL as an OpenAI-compatible endpoint, neither OpenAI nor the stand-in', async () => {
    const endpoint = await startOpenAIStandin();
    try {
      const { code, stdout } = await demo({ OPENAI_API_KEY: 'sk-demo-test', OPENAI_BASE_URL: endpoint.baseURL });
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^Calling the OpenAI-compatible endpoint at ${endpoint.baseURL.replace(/[.]/g, '\\.')} \\(OPENAI_BASE_URL\\) with your OPENAI_API_KEY: not OpenAI itself`));
      expect(stdout).not.toMatch(/real OpenAI API|STAND-IN|stand-in/);
      expect(endpoint.requests.length).toBeGreaterThan(0);
      expectFolderRemoved(stdout);
    } finally {
      await endpoint.close();
    }
  });
});

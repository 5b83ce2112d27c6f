// The MCP conformance suite's server scenarios (@modelcontextprotocol/conformance 0.1.13) against
// the built `planexec --http`, through scripts/conformance.mjs (what `npm run conformance` runs):
// the generic scenarios pass, and every other one fails only as test/conformance-baseline.yml says.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI } from '../support/spawn.js';

describe('MCP conformance suite', () => {
  it('passes the generic server scenarios over Streamable HTTP, and fails no other than the baseline lists', async () => {
    if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
    const child = spawn(process.execPath, ['scripts/conformance.mjs'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    // eslint-disable-next-line no-control-regex
    const text = out.replace(/\x1b\[[0-9;]*m/g, '');
    expect(text, text.slice(-3000)).toMatch(/Baseline check passed: all failures are expected\./);
    expect(code).toBe(0);
    for (const scenario of ['server-initialize', 'ping', 'tools-list', 'server-sse-multiple-streams', 'dns-rebinding-protection']) {
      expect(text).toMatch(new RegExp(`✓ ${scenario}: [1-9]\\d* passed, 0 failed`));
    }
  }, 120_000);
});

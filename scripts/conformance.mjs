// `npm run conformance`: the MCP conformance suite (@modelcontextprotocol/conformance, the server
// scenarios of its active suite) against the built planexec served with `--http 127.0.0.1:0`.
// The scenarios that cannot apply to planexec (they need resources, prompts, logging, completions
// or the suite's own reference tools) are listed, with why, in test/conformance-baseline.yml; the
// suite fails on any other failure and on a listed scenario that starts to pass.
// The server runs without a token: the suite's client sends no Authorization header (and its DNS
// rebinding scenario is defined for loopback servers without authentication). It needs no model
// key: no scenario calls a model. Everything it makes lives in one temporary folder, removed at the
// end. Extra arguments go to the suite (e.g. --scenario ping, --verbose).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist', 'cli.js');
const suite = join(repo, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
const baseline = join(repo, 'test', 'conformance-baseline.yml');
if (!existsSync(cli)) {
  process.stderr.write('dist/cli.js is missing: run `npm run build` first (npm run conformance does).\n');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'planexec-conformance-'));
const server = spawn(process.execPath, [cli, '--http', '127.0.0.1:0'], {
  cwd: dir,
  env: { PATH: process.env.PATH ?? '', HOME: dir, PLANEXEC_DB: join(dir, 'state.db'), PLANEXEC_ROOT: dir, PLANEXEC_CHANGES: 'off', PLANEXEC_LOG_LEVEL: 'info' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let log = '';
server.stderr.on('data', (chunk) => (log += chunk.toString('utf8')));
let serverStdout = '';
server.stdout.on('data', (chunk) => (serverStdout += chunk.toString('utf8')));
const serverExit = new Promise((res) => server.on('exit', (code) => res(code)));

let code = 1;
try {
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('planexec did not log its URL within 30 s')), 30_000);
    const look = () => {
      const found = /"url":"(http:\/\/[^"]+)"/.exec(log)?.[1];
      if (found) {
        clearTimeout(timer);
        res(found);
      }
    };
    server.stderr.on('data', look);
    server.on('exit', (exit) => rej(new Error(`planexec exited (${exit}) before listening`)));
    look();
  });
  process.stdout.write(`planexec serves MCP at ${url}; running the conformance suite's server scenarios.\n`);
  const run = spawn(process.execPath, [suite, 'server', '--url', url, '--expected-failures', baseline, '-o', join(dir, 'results'), ...process.argv.slice(2)], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  code = await new Promise((res) => run.on('exit', (exit) => res(exit ?? 1)));
} catch (error) {
  process.stderr.write(`conformance: ${error.message}\n${log}`);
} finally {
  server.kill('SIGTERM');
  const exit = await serverExit;
  if (exit !== 0) {
    process.stderr.write(`conformance: planexec exited with ${exit} after SIGTERM; its log:\n${log}`);
    code ||= 1;
  }
  if (serverStdout) {
    process.stderr.write(`conformance: planexec wrote to stdout in HTTP mode: ${JSON.stringify(serverStdout.slice(0, 300))}\n`);
    code ||= 1;
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);

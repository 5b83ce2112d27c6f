// The built binary with a key that has no sk- prefix, against an endpoint that echoes the
// Authorization header in its 400s, with the OpenAI SDK's debug logging on: the key appears nowhere
// planexec writes (stdout, the stderr log, the database file and its write-ahead log). Nor does
// another secret of the environment (a GITHUB_TOKEN) that a workspace file holds reach stdout or the
// log, where the SDK's debug lines would otherwise copy it from the request body. (The database keeps
// the planner's turns as they were sent, file contents included, to send a lost thread again.)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIStandin, type OpenAIStandin } from '../support/openai-standin.js';
import { plan, until, workflowResponder } from '../support/responders.js';
import { CLI, spawnServer, withTimeout } from '../support/spawn.js';

const KEY = 'azkey-3f9c2b7e81d04a6c';
const TOKEN = 'ghtok0a8f3c51e9d27b64';
let standin: OpenAIStandin;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
  standin = await startOpenAIStandin();
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-e2e-secrets-'));
  mkdirSync(join(dir, 'workspace'));
  writeFileSync(join(dir, 'workspace', 'settings.json'), JSON.stringify({ deployToken: TOKEN }));
  standin.reset();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a key echoed by the endpoint', () => {
  it('is written nowhere (stdout, the stderr log with the SDK debug lines, the database), nor is a token of the environment logged', async () => {
    standin.setResponder(
      workflowResponder(plan([{ id: 's1' }]), {
        executor: () => ({ error: { status: 400, message: 'Invalid credentials', type: 'invalid_request_error' }, echoAuthorization: true }),
      }),
    );
    const db = join(dir, 'state.db');
    const p = spawnServer({
      PATH: process.env.PATH ?? '',
      HOME: dir,
      OPENAI_API_KEY: KEY,
      GITHUB_TOKEN: TOKEN,
      OPENAI_BASE_URL: standin.baseURL,
      OPENAI_LOG: 'debug',
      PLANEXEC_LOG_LEVEL: 'debug',
      PLANEXEC_MAX_RETRIES: '0',
      PLANEXEC_DB: db,
      PLANEXEC_ROOT: join(dir, 'workspace'),
    });
    await p.initialize();

    const planned = await p.call('plan_task', { request: 'Do it.', files: ['settings.json'] });
    expect(standin.requests[0]!.inputText).toContain(TOKEN);
    const executed = await p.call('execute_subtask', { workflow_id: planned.structuredContent.workflow_id, subtask_id: 's1' });
    expect(executed.isError).toBe(true);
    const run = await p.call('run_workflow', { request: 'Do it again.' });
    expect(run.isError).toBe(true);
    const created = await p.request('tools/call', { name: 'run_workflow', arguments: { request: 'As a task.' }, task: { ttl: 600_000 } });
    const taskId = created.result.task.taskId;
    await until(async () => ['failed', 'completed'].includes((await p.request('tasks/get', { taskId })).result.status), 'the task to end');
    const taskResult = await p.request('tasks/result', { taskId });
    expect(taskResult.result.isError).toBe(true);
    await p.call('workflow_status', {});

    // The endpoint did echo the key: what planexec received held it.
    const echoed = standin.requests.filter((r) => r.status === 400);
    expect(echoed.length).toBeGreaterThanOrEqual(3);
    expect(String(echoed[0]!.headers.authorization)).toContain(KEY);
    // The SDK's debug lines reached the log, masked.
    expect(p.stderr()).toMatch(/"msg":"openai: /);
    expect(p.stderr()).toContain('[redacted]');

    p.child.stdin.end();
    expect(await withTimeout(p.exited, 5_000, 'exit after stdin closed')).toBe(0);
    for (const secret of [KEY, TOKEN]) {
      expect(p.lines.join('\n')).not.toContain(secret);
      expect(p.stderr()).not.toContain(secret);
    }
    for (const file of [db, `${db}-wal`].filter(existsSync)) expect(readFileSync(file).toString('latin1')).not.toContain(KEY);
  });
});

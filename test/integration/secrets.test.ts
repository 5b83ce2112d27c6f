// The configured secrets never leave planexec through what it stores or answers, whatever a provider
// puts in its errors: a provider that quotes the key (as a proxy echoing the Authorization header
// would, and no sk- prefix to recognise it by) stands in for any adapter that forgets to redact.
// The spawned-server side (the stderr log, the real OpenAI adapter) is in test/e2e/secrets.test.ts.
import { readFileSync, existsSync } from 'node:fs';
import { CallToolResultSchema, CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelCallError } from '../../src/core/errors.js';
import type { ModelProvider, ModelRequest, ModelResponse, ProviderCapabilities } from '../../src/core/ports.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import { plan, until } from '../support/responders.js';

const KEY = 'azkey-5be1d7c0a9f34e21';
const TOKEN = 'glpat-Qw3rty9Uiop0Asdf';
const PLAN = plan([{ id: 's1' }]);

/** Plans like a model; every other call fails with an error that quotes the key and a token, or answers with them. */
class LeakyProvider implements ModelProvider {
  readonly capabilities: ProviderCapabilities = { serverThreads: true, promptCacheControls: true, structuredOutput: true, applyPatchTool: false };
  private served = 0;
  constructor(private readonly executor: 'fails' | 'quotes') {}

  async generate(req: ModelRequest): Promise<ModelResponse> {
    this.served += 1;
    const usage = { input_tokens: 100, cached_tokens: 0, output_tokens: 10 };
    if (req.format?.name === 'plan') return { responseId: `r${this.served}`, text: JSON.stringify(PLAN), usage };
    if (this.executor === 'quotes') return { responseId: `r${this.served}`, text: `Use the key ${KEY} and the token ${TOKEN}.`, usage };
    throw new ModelCallError(
      'bad_request',
      `The model endpoint refused the request (HTTP 400): invalid key (request header Authorization: ${KEY}; proxy token ${TOKEN})`,
      `Check the key ${KEY}.`,
    );
  }
}

let h: Harness;
afterEach(async () => {
  await h.close();
});

const start = (executor: 'fails' | 'quotes') => startHarness({ env: { OPENAI_API_KEY: KEY, GITLAB_TOKEN: TOKEN }, models: new LeakyProvider(executor) });

/** Every byte of the database files (the main file and its write-ahead log), as latin1 text. */
function databaseBytes(x: Harness): string {
  const path = x.config.dbPath;
  return [path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p).toString('latin1')).join('\n');
}

function expectNoSecret(what: string, text: string): void {
  expect(text.includes(KEY), `${what} holds the key`).toBe(false);
  expect(text.includes(TOKEN), `${what} holds the token`).toBe(false);
}

describe('secrets in errors', () => {
  it('are masked in tool results, the call journal, last_error and stored task results, and nowhere in the database file', async () => {
    h = await start('fails');
    const results: unknown[] = [];

    const planned = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do it.' });
    const executed = await h.call('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's1' });
    expect(executed.isError).toBe(true);
    expect(textOf(executed)).toContain('[redacted]');
    results.push(executed);

    const run = await h.call('run_workflow', { request: 'Do it again.' });
    expect(run.isError).toBe(true);
    results.push(run);

    const created = await h.client.request({ method: 'tools/call', params: { name: 'run_workflow', arguments: { request: 'Once more, as a task.' }, task: { ttl: 600_000 } } }, CreateTaskResultSchema);
    let task = created.task;
    await until(async () => {
      task = await h.client.experimental.tasks.getTask(created.task.taskId);
      return task.status === 'failed' || task.status === 'completed';
    }, 'the task to end');
    const taskResult = await h.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    expect(taskResult.isError).toBe(true);
    results.push(taskResult);

    const listed = await h.ok<{ workflows: Array<{ workflow_id: string }> }>('workflow_status', {});
    results.push(listed);
    for (const { workflow_id } of listed.workflows) results.push(await h.call('workflow_status', { workflow_id }));

    for (const [i, result] of results.entries()) expectNoSecret(`tool result #${i}`, JSON.stringify(result));

    const errors = h.db.prepare("SELECT error FROM model_calls WHERE status = 'failed'").all() as Array<{ error: string }>;
    expect(errors.length).toBeGreaterThanOrEqual(3);
    for (const { error } of errors) expect(error).toContain('Authorization: [redacted]; proxy token [redacted]');
    const lastErrors = h.db.prepare('SELECT last_error FROM workflows WHERE last_error IS NOT NULL').all() as Array<{ last_error: string }>;
    expect(lastErrors.length).toBeGreaterThanOrEqual(2);
    for (const { last_error } of lastErrors) expect(last_error).toContain('[redacted]');
    const stored = h.db.prepare('SELECT result FROM tasks WHERE result IS NOT NULL').all() as Array<{ result: string }>;
    // run_workflow called plainly runs as a task too (the SDK polls it): two stored results.
    expect(stored).toHaveLength(2);
    for (const { result } of stored) expect(result).toContain('[redacted]');

    expectNoSecret('the database', databaseBytes(h));
    h.db.pragma('wal_checkpoint(TRUNCATE)');
    expectNoSecret('the checkpointed database', databaseBytes(h));
  });
});

describe('secrets in answers', () => {
  it('are masked in every message sent to the client, even in a model output planexec stores as it came', async () => {
    h = await start('quotes');
    const planned = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Do it.' });
    const executed = await h.call('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's1' });
    expect(executed.isError).toBeFalsy();
    expect((executed.structuredContent as { output: string }).output).toBe('Use the key [redacted] and the token [redacted].');
    expectNoSecret('the execute_subtask result', JSON.stringify(executed));
    expectNoSecret('the workflow_status result', JSON.stringify(await h.call('workflow_status', { workflow_id: planned.workflow_id, subtask_id: 's1' })));
  });
});

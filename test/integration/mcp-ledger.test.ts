// The ledger through real MCP clients: who asks is recorded on the workflows they create (an HTTP
// token's name, else PLANEXEC_REQUESTER, else the client's declared name), and workflow_status
// without an id lists and totals one requester's workflows, in structuredContent and in the text.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createServer } from '../../src/mcp/server.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import { plan, workflowResponder } from '../support/responders.js';

let h: Harness | undefined;
const extra: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of extra.splice(0)) await close();
  await h?.close();
  h = undefined;
});

const ONE = plan([{ id: 'a1' }]);

/** Another MCP session on the same planexec (as another host would open over HTTP), as client `name`; `authInfo` plays the HTTP server's token check. */
async function connect(harness: Harness, name: string, authInfo?: AuthInfo): Promise<(tool: string, args?: Record<string, unknown>) => Promise<CallToolResult>> {
  const { server, cleanup } = createServer({
    app: harness.app,
    log: createLogger('silent'),
    version: 'test',
    progressIntervalMs: harness.config.progressIntervalMs,
    clientRoots: false,
    redact: harness.redact,
    requester: harness.config.requester,
  });
  const client = new Client({ name, version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  if (authInfo) {
    const send = clientSide.send.bind(clientSide);
    clientSide.send = (message, options) => send(message, { ...options, authInfo });
  }
  await server.connect(serverSide);
  await client.connect(clientSide);
  extra.push(async () => {
    await client.close();
    await cleanup(0);
  });
  return async (tool, args = {}) => (await client.callTool({ name: tool, arguments: args })) as CallToolResult;
}

interface ListAnswer {
  workflows: Array<{ workflow_id: string; requester: string | null }>;
  totals: { workflows: number; calls: number; input_tokens: number; cached_tokens: number; output_tokens: number; cost: Record<string, number | null> };
}

function structured<T>(result: CallToolResult): T {
  if (result.isError) throw new Error(textOf(result));
  return result.structuredContent as T;
}

describe('the ledger over MCP', () => {
  it("records each client's declared name on the workflows it starts, and lists and totals each requester's own", async () => {
    h = await startHarness({ standin: { responder: workflowResponder(ONE) } });
    const other = await connect(h, 'other-host');
    const planned = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Plan it' });
    const ran = await h.ok<{ workflow_id: string; phase: string }>('run_workflow', { request: 'Run it' });
    expect(ran.phase).toBe('completed');
    const theirs = structured<{ workflow_id: string }>(await other('plan_task', { request: 'Their plan' }));

    const mine = await h.call('workflow_status', { requester: 'planexec-test' });
    const list = structured<ListAnswer>(mine);
    expect(new Set(list.workflows.map((w) => w.workflow_id))).toEqual(new Set([planned.workflow_id, ran.workflow_id]));
    expect(list.workflows.map((w) => w.requester)).toEqual(['planexec-test', 'planexec-test']);
    // plan_task: one plan call; run_workflow: plan, execute a1, review.
    expect(list.totals).toMatchObject({ workflows: 2, calls: 4 });
    const each = await Promise.all([planned.workflow_id, ran.workflow_id].map((workflow_id) => h!.ok<{ usage: Record<string, { input_tokens: number; output_tokens: number }>; cost: { quota_units: number } }>('workflow_status', { workflow_id })));
    const sum = (f: (s: (typeof each)[number]) => number) => each.reduce((n, s) => n + f(s), 0);
    expect(list.totals.input_tokens).toBe(sum((s) => s.usage.planner!.input_tokens + s.usage.executor!.input_tokens));
    expect(list.totals.output_tokens).toBe(sum((s) => s.usage.planner!.output_tokens + s.usage.executor!.output_tokens));
    expect(list.totals.cost.quota_units).toBeCloseTo(sum((s) => s.cost.quota_units), 2);
    expect(list.totals.cost.quota_units).toBe(3.3);
    expect(textOf(mine)).toContain(`- ${planned.workflow_id} [executing] 0/1 done (by planexec-test)`);
    expect(textOf(mine)).toContain(`Totals over 2 workflow(s): 4 calls, ${list.totals.input_tokens} tokens in`);
    expect(textOf(mine)).toContain('3.3 quota units vs 4 planner-only (17.5% saved)');

    const seen = await other('workflow_status', { requester: 'other-host' });
    expect(structured<ListAnswer>(seen).workflows.map((w) => [w.workflow_id, w.requester])).toEqual([[theirs.workflow_id, 'other-host']]);
    expect(structured<ListAnswer>(seen).totals).toMatchObject({ workflows: 1, calls: 1 });
    expect(textOf(seen)).toContain('Totals over 1 workflow(s): 1 calls');

    const everyone = structured<ListAnswer>(await other('workflow_status'));
    expect(everyone.workflows).toHaveLength(3);
    expect(everyone.totals).toMatchObject({ workflows: 3, calls: 5 });
  });

  it('names the requester PLANEXEC_REQUESTER when it is set, whatever the client calls itself', async () => {
    h = await startHarness({ env: { PLANEXEC_REQUESTER: '  ada  ' }, standin: { responder: workflowResponder(ONE) } });
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Plan it' });
    const list = await h.ok<ListAnswer>('workflow_status', { requester: 'ada' });
    expect(list.workflows.map((w) => [w.workflow_id, w.requester])).toEqual([[workflow_id, 'ada']]);
    expect((await h.ok<ListAnswer>('workflow_status', { requester: 'planexec-test' })).workflows).toEqual([]);
  });

  it("names the requester after the HTTP token's name when the request carries one, over PLANEXEC_REQUESTER and the client's name", async () => {
    h = await startHarness({ env: { PLANEXEC_REQUESTER: 'ada' }, standin: { responder: workflowResponder(ONE) } });
    const bot = await connect(h, 'claude-code', { token: 'secret-token', clientId: 'ci-bot', scopes: [] });
    const { workflow_id } = structured<{ workflow_id: string }>(await bot('run_workflow', { request: 'Run it' }));
    const list = structured<ListAnswer>(await bot('workflow_status', { requester: 'ci-bot' }));
    expect(list.workflows.map((w) => [w.workflow_id, w.requester])).toEqual([[workflow_id, 'ci-bot']]);
    expect(list.totals).toMatchObject({ workflows: 1, calls: 3 });
  });

  it('refuses a requester that is empty, too long, or given with a workflow_id, and writes nothing', async () => {
    h = await startHarness({ env: { PLANEXEC_LEASE_MS: '600000' }, standin: { responder: workflowResponder(ONE) } });
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Plan it' });
    const watch = h.watchWrites();
    try {
      for (const args of [{ requester: '  ' }, { requester: 'x'.repeat(65) }, { workflow_id, requester: 'planexec-test' }]) {
        const result = await h.call('workflow_status', args);
        expect(result.isError, JSON.stringify(args)).toBe(true);
        expect(textOf(result)).toMatch(/requester/);
      }
      expect(watch.wrote()).toBe(false);
    } finally {
      watch.close();
    }
  });
});

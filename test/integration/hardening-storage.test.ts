// Issue 7, C: storage that refuses a write after a model answered. The answer is not lost: planexec
// keeps it and writes it when the storage takes writes again, without calling (and billing) the
// model a second time; the error says what is wrong (full) and what to do.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import { plan, subtaskOf, until, workflowResponder } from '../support/responders.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

describe('disk full during a model call', () => {
  it('answers a named storage error, keeps the answer, and records it once space is back: completed, billed once', async () => {
    const big = 'word '.repeat(80_000);
    h = await startHarness({
      env: { PLANEXEC_LEASE_MS: '60000' },
      standin: {
        responder: workflowResponder(plan([{ id: 's1' }]), {
          executor: () => ({ text: big, delayMs: 300 }),
        }),
      },
    });
    const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Build it' });
    const running = h.call('execute_subtask', { workflow_id, subtask_id: 's1' });
    await until(async () => h.standin.requests.some((r) => subtaskOf(r) === 's1'), 'the executor call sent');
    // The disk fills up while the model works: the database cannot grow by a page.
    const pages = h.db.pragma('page_count', { simple: true }) as number;
    h.db.pragma(`max_page_count = ${pages}`);

    const result = await running;
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/Error \(storage_unavailable\).*\(full\)/s);
    expect(text).toMatch(/free space/);
    expect(text).toMatch(/keeps what the model answered/);
    expect(h.runtime.deferredWrites).toHaveLength(1);

    // Space comes back; the next heartbeat writes what was kept.
    h.db.pragma('max_page_count = 1073741823');
    await h.runtime.tick();
    expect(h.runtime.deferredWrites).toHaveLength(0);
    const [s1] = await h.store.workflows.listSubtasks(workflow_id);
    expect(s1).toMatchObject({ status: 'completed', leaseOwner: null });
    expect(s1!.output).toHaveLength(big.length);
    const calls = (await h.store.calls.list(workflow_id)).filter((c) => c.purpose === 'execute');
    expect(calls.map((c) => c.status)).toEqual(['completed']);
    expect(h.standin.requests.filter((r) => subtaskOf(r) === 's1')).toHaveLength(1);
  });
});

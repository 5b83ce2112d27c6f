// The bounded SSE event store of an HTTP session: replays a stream's events after a Last-Event-ID,
// only that stream's, and drops the oldest past its bounds (an evicted id is unknown, not a gap).
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { BoundedEventStore } from '../../src/mcp/event-store.js';

const note = (n: number, pad = ''): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: n, message: pad } });

async function replay(store: BoundedEventStore, after: string): Promise<{ stream: string; sent: Array<[string, JSONRPCMessage]> }> {
  const sent: Array<[string, JSONRPCMessage]> = [];
  const stream = await store.replayEventsAfter(after, { send: async (id, message) => void sent.push([id, message]) });
  return { stream, sent };
}

describe('BoundedEventStore', () => {
  it('replays the events of the same stream stored after the given one, in order', async () => {
    const store = new BoundedEventStore();
    const a1 = await store.storeEvent('A', note(1));
    const b1 = await store.storeEvent('B', note(10));
    const a2 = await store.storeEvent('A', note(2));
    const a3 = await store.storeEvent('A', note(3));
    const { stream, sent } = await replay(store, a1);
    expect(stream).toBe('A');
    expect(sent).toEqual([
      [a2, note(2)],
      [a3, note(3)],
    ]);
    expect(await store.getStreamIdForEventId(b1)).toBe('B');
    expect((await replay(store, a3)).sent).toEqual([]);
  });

  it('drops the oldest events past maxEvents; an evicted id is unknown', async () => {
    const store = new BoundedEventStore({ maxEvents: 3, maxBytes: 1_000_000 });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await store.storeEvent('A', note(i)));
    expect(store.size.events).toBe(3);
    expect(await store.getStreamIdForEventId(ids[1]!)).toBeUndefined();
    expect(await replay(store, ids[1]!)).toEqual({ stream: '', sent: [] });
    expect((await replay(store, ids[2]!)).sent.map(([id]) => id)).toEqual([ids[3], ids[4]]);
  });

  it('drops the oldest events past maxBytes, but keeps the newest even when it alone is over', async () => {
    const store = new BoundedEventStore({ maxEvents: 100, maxBytes: 1_000 });
    const first = await store.storeEvent('A', note(1, 'x'.repeat(300)));
    await store.storeEvent('A', note(2, 'x'.repeat(300)));
    expect(store.size.events).toBe(2);
    await store.storeEvent('A', note(3, 'x'.repeat(300)));
    expect(store.size.events).toBe(2);
    expect(store.size.bytes).toBeLessThanOrEqual(1_000);
    expect(await store.getStreamIdForEventId(first)).toBeUndefined();
    const big = await store.storeEvent('A', note(4, 'x'.repeat(5_000)));
    expect(store.size.events).toBe(1);
    expect(await store.getStreamIdForEventId(big)).toBe('A');
  });
});

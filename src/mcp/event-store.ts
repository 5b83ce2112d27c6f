// The SSE events of one Streamable HTTP session, kept so a client whose stream broke can reconnect
// with Last-Event-ID and get what it missed (resumability, MCP spec 2025-11-25 "Transports",
// "Resumability and Redelivery"). In memory and bounded: the oldest events go first once the
// session holds more than `maxEvents` events or `maxBytes` of JSON. A client that asks to resume
// after an event that is gone is answered 400 by the SDK (getStreamIdForEventId returns undefined),
// never with a silent gap.
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Defaults per session: tool results are bounded to ~6 KB (src/mcp/bound.ts), progress notes are smaller. */
export const EVENT_STORE_LIMITS = { maxEvents: 2_000, maxBytes: 2 * 1024 * 1024 } as const;

interface Stored {
  seq: number;
  streamId: StreamId;
  message: JSONRPCMessage;
  bytes: number;
}

/**
 * A bounded in-memory EventStore for one session (one per transport, so a Last-Event-ID can only
 * replay its own session's events). Event ids are `<seq>.<streamId>`, seq increasing per store.
 */
export class BoundedEventStore implements EventStore {
  private seq = 0;
  private bytes = 0;
  /** Insertion order is seq order: the first entry is the oldest. */
  private readonly events = new Map<EventId, Stored>();

  constructor(private readonly limits: { maxEvents: number; maxBytes: number } = EVENT_STORE_LIMITS) {}

  /** Events held now and their JSON size in bytes (for tests and the log). */
  get size(): { events: number; bytes: number } {
    return { events: this.events.size, bytes: this.bytes };
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const seq = ++this.seq;
    const id = `${seq}.${streamId}`;
    const bytes = Buffer.byteLength(JSON.stringify(message));
    this.events.set(id, { seq, streamId, message, bytes });
    this.bytes += bytes;
    // Keep the newest event even when it alone is over maxBytes: the stream must be able to go on.
    for (const [oldId, old] of this.events) {
      if (this.events.size <= 1 || (this.events.size <= this.limits.maxEvents && this.bytes <= this.limits.maxBytes)) break;
      this.events.delete(oldId);
      this.bytes -= old.bytes;
    }
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> }): Promise<StreamId> {
    const last = this.events.get(lastEventId);
    if (!last) return '';
    // A copy: sending may store new events meanwhile.
    for (const [id, event] of [...this.events]) {
      if (event.seq > last.seq && event.streamId === last.streamId) await send(id, event.message);
    }
    return last.streamId;
  }
}

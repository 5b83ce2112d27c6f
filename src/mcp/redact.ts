// Secrets out of everything planexec sends to its client. Tool results, task results, progress
// messages, elicitation forms and the SDK's own error texts all leave through the transport's
// send(), so masking there holds for every path, including ones added later. Stored task results
// are masked too (StoredTaskStore), since the database is another way out.
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Masks secrets in one text; built by the composition root (src/adapters/redact.ts secretRedactor). */
export type Redact = (text: string) => string;

/** Identifiers the client chose, which must come back exactly as sent. */
const PROTOCOL_KEYS = new Set(['progressToken']);

/**
 * A copy of `value` with `redact` applied to every string in it, at any depth of plain objects and
 * arrays (keys are kept, and so are the values of `progressToken`); anything else is returned as is.
 */
export function redactStrings<T>(value: T, redact: Redact): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redactStrings(item, redact)) as T;
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = PROTOCOL_KEYS.has(key) ? item : redactStrings(item, redact);
    return out as T;
  }
  return value;
}

/** `message` with its payload (result, params, error) masked; the envelope (jsonrpc, id, method) kept. */
export function redactMessage(message: JSONRPCMessage, redact: Redact): JSONRPCMessage {
  const out: Record<string, unknown> = { ...message };
  for (const key of ['result', 'params', 'error'] as const) {
    if (key in out) out[key] = redactStrings(out[key], redact);
  }
  return out as JSONRPCMessage;
}

/**
 * A transport that forwards everything to `inner`, masking every message it sends with
 * redactMessage. The handlers a Protocol sets on it (onmessage, onclose, onerror) are called by
 * `inner` through it.
 */
export function redactingTransport(inner: Transport, redact: Redact): Transport {
  const outer: Transport = {
    start: () => inner.start(),
    send: (message, options) => inner.send(redactMessage(message, redact), options),
    close: () => inner.close(),
    get sessionId() {
      return inner.sessionId;
    },
    setProtocolVersion: (version) => inner.setProtocolVersion?.(version),
  };
  // Handlers already on the inner transport (serveStdio's, set before connect) stay first in line:
  // the SDK's Protocol chains its own after whatever the transport it is given already has.
  outer.onclose = inner.onclose;
  outer.onerror = inner.onerror;
  outer.onmessage = inner.onmessage;
  inner.onmessage = (message, extra) => outer.onmessage?.(message, extra);
  inner.onclose = () => outer.onclose?.();
  inner.onerror = (error) => outer.onerror?.(error);
  return outer;
}

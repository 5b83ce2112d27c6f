// notifications/progress for a request that carries a progress token: one at each step the core
// reports, and a repeat of the latest at least every `intervalMs` while the call runs, so hosts
// see life during a long model call. Progress values strictly increase, as the spec requires.
import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { ProgressEvent } from '../core/journal.js';

/** Sends a request's progress; stop() ends the repeats (always call it when the request ends). */
export interface ProgressReporter {
  report(event: ProgressEvent): void;
  stop(): void;
}

interface Extra {
  _meta?: { progressToken?: string | number } | undefined;
  sendNotification(notification: ServerNotification): Promise<void>;
}

const NONE: ProgressReporter = { report: () => undefined, stop: () => undefined };

/**
 * A reporter for one request: does nothing unless the request carries a progressToken (MCP spec,
 * "Progress"). Each report is sent at once; the latest is repeated every `intervalMs` (ms) with how long
 * it has run, its progress value creeping towards the next step without reaching it. Sending never throws
 * (a failed notification is dropped).
 */
export function progressReporter(extra: Extra, intervalMs: number): ProgressReporter {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return NONE;
  let latest: ProgressEvent | null = null;
  let since = Date.now();
  let step = -1;
  let repeats = 0;
  let sent = -Infinity;

  const send = (event: ProgressEvent, suffix: string) => {
    if (event.progress !== step) {
      step = event.progress;
      repeats = 0;
    } else repeats += 1;
    // Within a step, approach step + 0.99 without reaching it; never go back.
    const progress = Math.max(step + (0.99 * repeats) / (repeats + 1), sent + 1e-6);
    sent = progress;
    const params = { progressToken, progress, message: event.message + suffix, ...(event.total !== undefined ? { total: event.total } : {}) };
    extra.sendNotification({ method: 'notifications/progress', params }).catch(() => undefined);
  };
  const timer = setInterval(() => {
    if (latest) send(latest, ` (still working, ${Math.round((Date.now() - since) / 1000)} s)`);
  }, intervalMs);
  timer.unref();
  return {
    report(event) {
      latest = event;
      since = Date.now();
      send(event, '');
    },
    stop: () => clearInterval(timer),
  };
}

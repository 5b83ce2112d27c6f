// The clock and id source of a real process.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock, IdSource, ProcessProbe } from '../core/ports.js';

/** The real clock: epoch milliseconds (Date.now). */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * Workflow ids 'wf-' + 12 hex digits (48 random bits), short enough to type. By the birthday bound a
 * clash is about 0.2% likely after a million workflows in one database; nothing checks for one
 * before the id is used.
 */
export const randomIds: IdSource = { workflowId: () => `wf-${randomBytes(6).toString('hex')}` };

/** Names this process in leases and the call journal. */
export function processOwner(): { id: string; host: string; pid: number } {
  const host = hostname();
  return { id: `${host}:${process.pid}:${randomBytes(3).toString('hex')}`, host, pid: process.pid };
}

/** Signal 0 asks the kernel whether a pid exists, without signalling it. Only meaningful on this host. */
export const processProbe: ProcessProbe = {
  isRunning(host, pid) {
    if (host !== hostname()) return null;
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
};

// The clock and id source of a real process.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock, IdSource } from '../core/ports.js';

export const systemClock: Clock = { now: () => Date.now() };

export const randomIds: IdSource = { workflowId: () => `wf-${randomBytes(6).toString('hex')}` };

/** Names this process in leases and the call journal. */
export function processOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

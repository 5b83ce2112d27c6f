// The clock and id source of a real process.
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
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

/**
 * This machine and PID namespace, as owners and pid records name their host: the hostname, and on
 * Linux the PID namespace's inode (readlink /proc/self/ns/pid, 'pid:[4026531836]') and the first 8
 * hex digits of the kernel's boot id (/proc/sys/kernel/random/boot_id), e.g.
 * 'build-1~pidns-4026531836~boot-3f2a9c1e'. Two processes may probe each other's pids only when this
 * is equal: containers that share a hostname (a compose `hostname:`, host networking, --uts=host) but
 * not a PID namespace differ in the inode, and two machines (or two boots of one) that share a
 * hostname differ in the boot id (the host's own PID namespace has the same inode everywhere). Where
 * /proc cannot be read (macOS, Windows), the bare hostname. Read once per process.
 */
export function hostIdentity(): string {
  identity ??= [hostname(), ...namespaceParts()].join('~');
  return identity;
}
let identity: string | undefined;

function namespaceParts(): string[] {
  const parts: string[] = [];
  try {
    const inode = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    if (inode) parts.push(`pidns-${inode}`);
  } catch {
    // No /proc (not Linux): the hostname alone.
  }
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').replace(/[^0-9a-f]/gi, '').slice(0, 8);
    if (boot) parts.push(`boot-${boot}`);
  } catch {
    // As above.
  }
  return parts;
}

/**
 * Names this process in leases and the call journal: `id` is 'hostname:pid:random' (short, for logs
 * and lock tokens), `host` its hostIdentity() (what processProbe compares), `pid` process.pid.
 */
export function processOwner(): { id: string; host: string; pid: number } {
  return { id: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`, host: hostIdentity(), pid: process.pid };
}

/**
 * Signal 0 asks the kernel whether a pid exists, without signalling it. Only meaningful for an owner
 * whose host is this process's hostIdentity() (the same machine, boot and PID namespace); for any
 * other host: null (cannot tell; the owner's lease decides).
 */
export const processProbe: ProcessProbe = {
  isRunning(host, pid) {
    if (host !== hostIdentity()) return null;
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
};

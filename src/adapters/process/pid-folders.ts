// Pid records of child processes (the Codex CLI) per server process, so that one started after a
// crash (kill -9, power loss) can end what the dead one left running. Each process records into its
// own folder, <root>/<host>/<pid>-<random> (host: hostIdentity(), the machine, boot and PID
// namespace: containers sharing a hostname and the folder must not take each other's pids for their
// own); at start-up the folders of this host whose process is gone are emptied by killRecordedGroups
// (which checks each group is still the one recorded) and removed.
// Folders of live processes, and of other hosts sharing the folder, are never touched.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hostIdentity } from '../system.js';
import { killRecordedGroups } from './run-command.js';

/**
 * Ends the child process groups recorded by processes of this host that are gone, removes their
 * folders, and makes this process's own folder (mode 0700). Resolves with that folder's path and how
 * many groups were killed. `isRunning(pid)` says whether a pid of this host is alive. Throws only
 * when the folder cannot be made (an unreadable root is taken as empty).
 */
export async function claimPidFolder(root: string, pid: number, isRunning: (pid: number) => boolean): Promise<{ folder: string; killed: number }> {
  const mine = join(root, safe(hostIdentity()));
  let killed = 0;
  let names: string[] = [];
  try {
    names = readdirSync(mine);
  } catch {
    names = [];
  }
  for (const name of names) {
    const owner = Number(/^(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
    if (!Number.isInteger(owner) || owner === pid || isRunning(owner)) continue;
    killed += await killRecordedGroups(join(mine, name));
    rmSync(join(mine, name), { recursive: true, force: true });
  }
  const folder = join(mine, `${pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  return { folder, killed };
}

/** A host name as one folder name. */
function safe(name: string): string {
  return name.replace(/[^\w.-]/g, '_') || 'host';
}

// Owners are told apart by host identity, not hostname: two processes with one hostname in two PID
// namespaces (containers with a fixed hostname, host networking, --uts=host) must never probe each
// other's pids, or the second takes the first for dead and reaps its live work.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { hostIdentity, processOwner, processProbe } from '../../src/adapters/system.js';

const SCRIPT = join(import.meta.dirname, '..', 'support', 'owner-probe.ts');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-hostid-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** owner-probe.ts run through `prefix` (e.g. unshare), with tsx; its JSON line. */
function probeFrom(prefix: string[], db: string, host: string, pid: number): { identity: string; pid: number; probe: boolean | null; owners: string[] } {
  const argv = [...prefix, process.execPath, '--import', 'tsx', SCRIPT, db, host, String(pid)];
  const run = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stderr.trim().split('\n').at(-1)!);
}

describe('host identity', () => {
  it('is the hostname with the PID namespace inode and the boot id on Linux, and names this process as owner', () => {
    const inode = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))![1];
    expect(hostIdentity()).toMatch(new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}~pidns-${inode}~boot-[0-9a-f]{8}$`));
    expect(processOwner()).toMatchObject({ host: hostIdentity(), pid: process.pid, id: expect.stringMatching(new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${process.pid}:[0-9a-f]{6}$`)) });
    expect(processProbe.isRunning(hostIdentity(), process.pid)).toBe(true);
    expect(processProbe.isRunning(hostname(), process.pid)).toBeNull();
  });

  it('a process with the same hostname in another PID namespace has another identity, cannot tell whether our pid runs, and does not reap our live owner', async () => {
    const db = join(dir, 'state.db');
    const { store, close } = await openSqliteStore(db);
    const now = Date.now();
    await store.owners.upsert({ id: 'live-owner', host: hostIdentity(), pid: process.pid, startedAt: now, heartbeatAt: now });
    await close();

    const other = probeFrom(['unshare', '--pid', '--fork', '--mount-proc'], db, hostIdentity(), process.pid);
    // Its own pid is small in its new namespace, where our pid names no process (or another one).
    expect(other.identity).not.toBe(hostIdentity());
    expect(other.identity.startsWith(`${hostname()}~pidns-`)).toBe(true);
    expect(other.probe).toBeNull();
    expect(other.owners).toContain('live-owner');
    expect(other.owners).toHaveLength(2);
  });

  it('a process in the same PID namespace shares the identity and still takes an owner whose pid is gone for dead', async () => {
    const db = join(dir, 'state.db');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const { store, close } = await openSqliteStore(db);
    const now = Date.now();
    await store.owners.upsert({ id: 'dead-owner', host: hostIdentity(), pid: gone, startedAt: now, heartbeatAt: now });
    await close();

    const same = probeFrom([], db, hostIdentity(), process.pid);
    expect(same.identity).toBe(hostIdentity());
    expect(same.probe).toBe(true);
    expect(same.owners).not.toContain('dead-owner');
    expect(same.owners).toHaveLength(1);
  });
});

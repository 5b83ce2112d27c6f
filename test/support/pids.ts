// Pids a check reports, as the tests outside it see them. In the check sandbox (a PID namespace of
// its own) `process.pid` is the pid inside the namespace (2, 3, ...), which names some other process
// out here; Linux's /proc/<pid>/status gives each process's pid in every namespace it is in (NSpid,
// outermost first), so the outside pid is found by the inside one and where the process works.
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { sep } from 'node:path';

/**
 * The pids, in this process's namespace, of the live processes that call themselves `inner` (their
 * own process.pid, inside a sandbox or not) and whose working folder is `under` or below it (a test's
 * temp folder: it tells apart processes of parallel tests with the same inside pid). Throws when one
 * is not found (the process must still run when this is called).
 */
export function outsidePids(inner: readonly number[], under: string): number[] {
  const root = realpathSync(under);
  const found = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const line = readFileSync(`/proc/${name}/status`, 'utf8').match(/^NSpid:\s*(.+)$/m)?.[1];
      const innermost = Number(line?.trim().split(/\s+/).pop());
      if (!inner.includes(innermost)) continue;
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      if (cwd === root || cwd.startsWith(`${root}${sep}`)) found.set(innermost, Number(name));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return inner.map((pid) => {
    const outside = found.get(pid);
    if (outside === undefined) throw new Error(`no running process calls itself ${pid} under ${under}`);
    return outside;
  });
}

// Running one wave of subtasks: at most `concurrency` at a time, ordered for the provider's prefix
// cache. Subtasks whose first relevant file is the same share a prompt prefix (instructions, goal,
// files come first), so they run back to back; with priming, the first of such a group runs before
// its siblings, because a provider caches a prefix only once a request with it has been processed.
import type { Subtask } from './types.js';

/** Groups a wave by first relevant file (files are sent sorted), keeping plan order. */
export function cacheGroups(wave: readonly Subtask[]): Subtask[][] {
  const groups = new Map<string, Subtask[]>();
  const order: Subtask[][] = [];
  for (const s of wave) {
    const first = [...s.relevant_files].sort()[0];
    if (first === undefined) {
      order.push([s]);
      continue;
    }
    let group = groups.get(first);
    if (!group) {
      group = [];
      groups.set(first, group);
      order.push(group);
    }
    group.push(s);
  }
  return order;
}

/** How runGroups runs a wave: `concurrency` subtasks at most at once (at least 1). */
export interface PoolOptions {
  concurrency: number;
  /** Run the first of each group alone before its siblings. */
  prime: boolean;
  /** Stop taking new work (after a failure, or when cancelled). Running work finishes. */
  stopped(): boolean;
}

/**
 * Whether two subtasks may not run at the same time: their write sets share a file (or one writes
 * a folder, written with a trailing '/', that holds a file the other writes).
 */
export function writesOverlap(a: Pick<Subtask, 'writes'>, b: Pick<Subtask, 'writes'>): boolean {
  // An entry names a file or a folder (with or without its trailing '/'): it covers itself and what is under it.
  const bare = (p: string) => p.replace(/\/+$/, '');
  const covers = (x: string, y: string) => bare(x) === bare(y) || bare(y).startsWith(`${bare(x)}/`);
  return a.writes.some((x) => b.writes.some((y) => covers(x, y) || covers(y, x)));
}

/**
 * Runs every subtask of the groups through `run`, as described above; a subtask whose writes
 * overlap those of one running waits until that one has finished.
 */
export async function runGroups(groups: Subtask[][], o: PoolOptions, run: (s: Subtask) => Promise<void>): Promise<void> {
  const running = new Set<Subtask>();
  const ready: Subtask[] = [];
  const held = new Map<Subtask, Subtask[]>();
  for (const group of groups) {
    if (o.prime && group.length > 1) {
      ready.push(group[0]!);
      held.set(group[0]!, group.slice(1));
    } else ready.push(...group);
  }
  let wake: () => void = () => undefined;
  let waiting = new Promise<void>((resolve) => (wake = resolve));
  const wakeAll = () => {
    const woken = wake;
    waiting = new Promise<void>((resolve) => (wake = resolve));
    woken();
  };
  const release = (done: Subtask) => {
    running.delete(done);
    const siblings = held.get(done);
    if (siblings) {
      held.delete(done);
      ready.unshift(...siblings); // right after their primer: back to back
    }
    wakeAll();
  };
  const worker = async () => {
    for (;;) {
      if (o.stopped()) return;
      const index = ready.findIndex((s) => ![...running].some((r) => writesOverlap(r, s)));
      const next = index < 0 ? undefined : ready.splice(index, 1)[0];
      if (next) {
        running.add(next);
        try {
          await run(next);
        } finally {
          release(next);
        }
        continue;
      }
      if (held.size === 0 && ready.length === 0) return;
      await waiting;
    }
  };
  const workers = Math.max(1, Math.min(o.concurrency, groups.reduce((n, g) => n + g.length, 0)));
  await Promise.all(Array.from({ length: workers }, worker));
}

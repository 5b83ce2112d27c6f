// The last thing a stopping process does with the database: what it kept while the storage refused
// it (an answer the provider billed, a lock's release) is written first, then what it still holds is
// let go for the other processes.
import type { Store } from './core/ports.js';
import type { Runtime } from './core/runtime.js';
import type { Logger } from './log.js';

/**
 * Writes what `runtime` kept for later (Runtime.drain, waiting at most `budgetMs` ms: a shutdown has
 * a deadline), logs each write still kept then (lost: the database never took it), then releases
 * `owner` (Store.owners.release at `now`, epoch ms): its running subtasks go back, its locks and
 * pending calls are let go. The kept writes go first because each checks that this process still
 * holds what it settles (a claim, a lock): after the release, a recorded answer would find its claim
 * gone and be dropped, and the subtask run and billed again. Resolves with what release let go.
 * Throws what release throws (StorageError).
 */
export async function handOver(runtime: Runtime, store: Store, owner: string, log: Logger, budgetMs: number, now: () => number): Promise<{ calls: number; subtasks: number }> {
  const lost = await runtime.drain(budgetMs);
  if (lost.length) log.error({ writes: lost }, 'the database did not take these writes before the process stopped: they are lost');
  return store.owners.release(owner, now());
}

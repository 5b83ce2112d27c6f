// The life of this process among others on the same database: it registers as an owner and
// heartbeats; owners whose heartbeat goes stale (or whose process is gone) are dead, and what they
// held (running subtasks, workflow locks, pending calls) is taken back. It also tracks the model
// work running here per workflow, so cancel_workflow can stop it.
import { StorageError } from './errors.js';
import type { Clock, ProcessProbe, Store } from './ports.js';
import type { Owner } from './types.js';

/** What a Runtime is made of (by the composition root). leaseMs: ms. */
export interface RuntimeOptions {
  store: Store;
  clock: Clock;
  probe: ProcessProbe;
  owner: Pick<Owner, 'id' | 'host' | 'pid'>;
  /** An owner whose heartbeat is older than this is dead. The heartbeat runs three times per lease. */
  leaseMs: number;
  /** Where a failed heartbeat is reported (the heartbeat never throws: it tries again at the next beat). */
  onError?: (error: unknown, what: string) => void;
}

/**
 * Why this process's work was stopped when another process took it for dead (it stalled past its
 * lease): the work and its locks belong to that process now, so nothing here may write over them.
 */
export class HandedOverError extends Error {
  constructor() {
    super('this process missed its heartbeat and its work was handed to another process');
    this.name = 'HandedOverError';
  }
}

/** What Runtime.inOrder did with a write: written (with what it returned), or kept for later (with the StorageError that keeps it). */
export type Written<T> = { written: true; value: T } | { written: false; error: StorageError };

/** Model work registered with Runtime.track: `signal` to pass on, done() when it ends (always, in a finally). */
export interface TrackedOperation {
  signal: AbortSignal;
  done(): void;
}

/**
 * This process among the others on the database (see the top of this file). One per process, made by
 * the composition root; start() before serving, stop() at shutdown. Its reads and writes throw
 * StorageError where the storage fails, except the heartbeat's, which are reported through onError.
 */
export class Runtime {
  readonly owner: string;
  readonly leaseMs: number;
  private readonly operations = new Map<string, Set<AbortController>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private nextOperation = 1;
  /** Set once the process is shutting down: interrupted work is left to be resumed, not marked cancelled. */
  stopping = false;

  constructor(private readonly o: RuntimeOptions) {
    this.owner = o.owner.id;
    this.leaseMs = o.leaseMs;
  }

  /** Registers this process, takes back what dead owners held, and starts the heartbeat. Throws StorageError. */
  async start(): Promise<void> {
    const now = this.o.clock.now();
    await this.o.store.owners.upsert({ ...this.o.owner, startedAt: now, heartbeatAt: now });
    await this.reap();
    this.timer ??= setInterval(() => void this.beat(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.timer.unref?.();
  }

  private beating = false;

  /** The timer's heartbeat: one at a time, and never throws (a failure is reported and retried next beat). */
  private async beat(): Promise<void> {
    if (this.beating || this.stopping) return;
    this.beating = true;
    try {
      await this.tick();
    } catch (error) {
      this.o.onError?.(error, 'heartbeat');
    } finally {
      this.beating = false;
    }
  }

  /** Stops the heartbeat and aborts every tracked operation ('planexec is shutting down'); interrupted work is left to resume. */
  stop(): void {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const set of this.operations.values()) for (const c of set) c.abort(new Error('planexec is shutting down'));
  }

  private readonly deferred: Array<{ what: string; write: () => Promise<void> }> = [];

  /**
   * Keeps a write the storage refused (disk full, read-only, locked) that must not be lost — the
   * record of a model answer, say — and retries it, in order, at each heartbeat until it goes through.
   */
  defer(what: string, write: () => Promise<void>): void {
    this.deferred.push({ what, write });
  }

  /** Writes waiting for the storage to take them again. */
  get deferredWrites(): string[] {
    return this.deferred.map((w) => w.what);
  }

  /**
   * Runs a write this process must not leave undone: letting go of what it holds (a workflow lock, a
   * subtask claim, the apply lock, an MCP task's state) or recording what a billed call answered. If
   * the storage refuses it (StorageError: disk full, connection lost, ...), it is reported, kept
   * (defer) and retried at each heartbeat until it goes through, so nothing this live process holds
   * stays held once the database is back. Keeps the order of such writes (see inOrder). Resolves true
   * when written now, false when kept for later. Throws what the write throws other than StorageError.
   */
  async settle(what: string, write: () => Promise<unknown>): Promise<boolean> {
    return (await this.inOrder(what, write)).written;
  }

  /** How many times a flush stopped at a write the storage refused (inOrder tells "refused since I queued" from "not tried yet"). */
  private refusals = 0;
  /** The StorageError the last refused write met. */
  private lastRefusal: StorageError | null = null;

  /**
   * Runs a write that must not be lost, in order with the writes kept before it: when none is kept,
   * at once; otherwise queued behind them, then the queue is written (flush). So a write never lands
   * before one this process made earlier and kept (the record of an attempt before the release of the
   * apply lock; why a run stopped before the release of its lock). Resolves { written: true, value }
   * once it went through, or { written: false, error } when it is kept for later (`error`: the
   * StorageError that keeps it, its own or the one the queue's head met). Throws what the write throws
   * other than StorageError (reported, too, when it ran queued). The write must not itself call
   * settle, inOrder or flush (it may run inside a flush, which would then wait for itself).
   */
  async inOrder<T>(what: string, write: () => Promise<T>): Promise<Written<T>> {
    if (this.deferred.length === 0) {
      try {
        return { written: true, value: await write() };
      } catch (error) {
        if (!(error instanceof StorageError)) throw error;
        this.o.onError?.(error, what);
        this.defer(what, async () => void (await write()));
        return { written: false, error };
      }
    }
    let outcome: { value: T } | { error: unknown } | null = null;
    const entry = {
      what,
      write: async () => {
        try {
          outcome = { value: await write() };
        } catch (error) {
          if (!(error instanceof StorageError)) outcome = { error };
          throw error;
        }
      },
    };
    this.deferred.push(entry);
    for (;;) {
      const refused = this.refusals;
      await this.flush();
      // A flush that had already emptied the queue when this entry joined it never saw it: again.
      if (outcome !== null || !this.deferred.includes(entry) || this.refusals !== refused) break;
    }
    const done = outcome as { value: T } | { error: unknown } | null;
    if (done && 'value' in done) return { written: true, value: done.value };
    if (done) throw done.error;
    return { written: false, error: this.lastRefusal ?? new StorageError('connection', `'${what}' waits behind writes the database refused`) };
  }

  /**
   * Runs `step` until the storage takes it: after a StorageError, writes what was kept (flush) and
   * tries again one heartbeat interval (leaseMs / 3, at least 50 ms) later. For work that cannot be
   * deferred as one write (landing an editing attempt whose answer is billed) and whose `step`
   * changes nothing when it fails with StorageError. Throws the signal's reason once it aborts
   * (cancel_workflow, shutdown, this process taken for dead), and any other error of `step`.
   */
  async untilStored<T>(step: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (;;) {
      signal.throwIfAborted();
      // Writes kept earlier go first (their order is kept, inOrder): while some wait, so does `step`.
      if (this.deferred.length) await this.flush();
      if (this.deferred.length === 0) {
        try {
          return await step();
        } catch (error) {
          if (!(error instanceof StorageError) || signal.aborted) throw error;
          this.o.onError?.(error, 'a step waiting for the database');
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(50, Math.floor(this.leaseMs / 3)));
        function done() {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  private flushing: Promise<void> | null = null;

  /**
   * Retries the deferred writes in order; stops at the first the storage still refuses. Never throws.
   * One flush at a time (the heartbeat's and untilStored's share it): a write is never run twice.
   */
  flush(): Promise<void> {
    this.flushing ??= this.flushNow().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    while (this.deferred.length) {
      const next = this.deferred[0]!;
      try {
        await next.write();
      } catch (error) {
        this.o.onError?.(error, next.what);
        // The storage still refuses: try again at the next beat. Anything else will not get
        // better by waiting (it was reported): let it go rather than block the writes behind it.
        if (error instanceof StorageError) {
          this.refusals++;
          this.lastRefusal = error;
          return;
        }
      }
      this.deferred.shift();
    }
  }

  /**
   * One heartbeat: stay alive, write what was kept, take back what dead owners held, stop local work
   * of cancelled workflows. Throws StorageError.
   *
   * The heartbeat comes before the kept writes: a process taken for dead learns it before they run.
   * They still run then, before it registers again: each is guarded (a lock let go only if it holds
   * the token, a claim settled only if still this owner's, a task's result stored only by its owner,
   * a run's stop recorded only while its lock is held), so one that no longer applies changes
   * nothing, while the records of billed answers it kept (the journal, the execution history) are
   * not lost. Running them before registering again keeps them from acting on claims made after it.
   */
  async tick(): Promise<void> {
    const now = this.o.clock.now();
    if (!(await this.o.store.owners.heartbeat(this.owner, now))) {
      // Another process took this one for dead (it stalled past the lease) and handed its work over.
      // Stop what runs here first (its claims and locks belong to others now), then register again.
      for (const set of this.operations.values()) for (const c of set) c.abort(new HandedOverError());
      await this.flush();
      await this.o.store.owners.upsert({ ...this.o.owner, startedAt: now, heartbeatAt: now });
    } else {
      await this.flush();
    }
    await this.reap();
    for (const workflowId of this.operations.keys()) {
      if ((await this.o.store.workflows.get(workflowId))?.phase === 'cancelled') this.abort(workflowId, 'the workflow was cancelled');
    }
  }

  /**
   * For shutdown: writes what was kept (flush), waiting at most `budgetMs` (ms), and returns what is
   * still kept then (deferredWrites: for the caller to log, as lost). Never throws.
   */
  async drain(budgetMs: number): Promise<string[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, budgetMs))))]);
    clearTimeout(timer);
    return this.deferredWrites;
  }

  /** Whether an owner is alive, read through `store` (a transaction's handle, or the root). */
  async isAlive(ownerId: string, store: Store = this.o.store): Promise<boolean> {
    if (ownerId === this.owner) return true;
    const owner = await store.owners.get(ownerId);
    return owner !== null && !this.isDead(owner, this.o.clock.now());
  }

  /** Takes back what dead owners held. Returns their ids. Throws StorageError. */
  async reap(): Promise<string[]> {
    const now = this.o.clock.now();
    const dead = (await this.o.store.owners.list()).filter((o) => o.id !== this.owner && this.isDead(o, now));
    for (const o of dead) await this.o.store.owners.release(o.id, now);
    return dead.map((o) => o.id);
  }

  private isDead(o: Owner, now: number): boolean {
    return o.heartbeatAt < now - this.leaseMs || this.o.probe.isRunning(o.host, o.pid) === false;
  }

  /** A lock value naming this process and one operation of it (see lockWorkflow). */
  newLockToken(): string {
    return `${this.owner}/${this.nextOperation++}`;
  }

  /** The owner part of a lock token. */
  static ownerOf(lockToken: string): string {
    const slash = lockToken.lastIndexOf('/');
    return slash < 0 ? lockToken : lockToken.slice(0, slash);
  }

  /**
   * Registers model work on a workflow: the returned signal aborts when `parent` does, when the
   * workflow is cancelled, or at shutdown. Call done() when the work ends.
   */
  track(workflowId: string, parent?: AbortSignal): TrackedOperation {
    const controller = new AbortController();
    const onAbort = () => controller.abort(parent?.reason);
    if (parent?.aborted) onAbort();
    else parent?.addEventListener('abort', onAbort, { once: true });
    let set = this.operations.get(workflowId);
    if (!set) this.operations.set(workflowId, (set = new Set()));
    set.add(controller);
    return {
      signal: controller.signal,
      done: () => {
        parent?.removeEventListener('abort', onAbort);
        set.delete(controller);
        if (set.size === 0 && this.operations.get(workflowId) === set) this.operations.delete(workflowId);
      },
    };
  }

  /** Resolves once no model work of this process runs on the workflow, or after `timeoutMs` (ms, polled every 10 ms). */
  async idle(workflowId: string, timeoutMs: number): Promise<void> {
    for (let waited = 0; this.operations.has(workflowId) && waited < timeoutMs; waited += 10) await new Promise((r) => setTimeout(r, 10));
  }

  private readonly queues = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier `serialize` call with the same key has settled (one at a time per key, in this process). */
  async serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const mine = previous.then(fn, fn);
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, settled);
    try {
      return await mine;
    } finally {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    }
  }

  private readonly toolRefusals = new Set<string>();

  /** Models that refused the apply_patch tool in this process: their edits are asked for as a patch in the answer text. */
  refusesPatchTool(model: string): boolean {
    return this.toolRefusals.has(model);
  }

  /** Records that `model` refused the apply_patch tool (ModelCallError 'tool_unsupported'), for refusesPatchTool. */
  rememberPatchToolRefusal(model: string): void {
    this.toolRefusals.add(model);
  }

  /** Aborts the model work running here on a workflow. */
  abort(workflowId: string, why: string): void {
    for (const c of this.operations.get(workflowId) ?? []) c.abort(new Error(why));
  }
}

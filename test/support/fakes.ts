// Small in-memory implementations of the core's ports, for unit tests of the pure core.
import { createHash } from 'node:crypto';
import type {
  Clock,
  IdSource,
  MissingFile,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ProviderCapabilities,
  Store,
  TokenCounter,
  WorkspaceFile,
  WorkspaceReader,
  WorkspaceWriter,
} from '../../src/core/ports.js';
import { StorageError } from '../../src/core/errors.js';
import type { Usage } from '../../src/core/types.js';

/**
 * A workspace held in a Map of path -> text. Cuts a file at `maxBytes` on a UTF-8 character
 * boundary, as the real reader does, and records every read.
 */
export class MapWorkspaceReader implements WorkspaceReader {
  readonly files: Map<string, string>;
  readonly reads: { root: string; path: string; maxBytes: number }[] = [];

  constructor(files: Record<string, string> = {}) {
    this.files = new Map(Object.entries(files));
  }

  async read(root: string, path: string, maxBytes: number): Promise<WorkspaceFile | MissingFile> {
    this.reads.push({ root, path, maxBytes });
    const text = this.files.get(path);
    if (text === undefined) return { kind: 'missing', path };
    const whole = Buffer.from(text, 'utf8');
    let end = Math.max(0, Math.min(maxBytes, whole.length));
    if (end < whole.length) while (end > 0 && ((whole[end] ?? 0) & 0xc0) === 0x80) end -= 1;
    const kept = whole.subarray(0, end);
    return {
      kind: 'file',
      path,
      bytes: whole.length,
      content: kept.toString('utf8'),
      truncated: kept.length < whole.length,
      binary: false,
      sha256: sha256Hex(kept),
    };
  }
}

/** A WorkspaceWriter over a Map of root + path -> text (unit tests of the core; no confinement rules). */
export class MapWorkspaceWriter implements WorkspaceWriter {
  readonly files = new Map<string, string>();

  async readText(root: string, path: string): Promise<string | null> {
    return this.files.get(`${root}/${path}`) ?? null;
  }

  async writeText(root: string, path: string, content: string): Promise<boolean> {
    const created = !this.files.has(`${root}/${path}`);
    this.files.set(`${root}/${path}`, content);
    return created;
  }

  async remove(root: string, path: string): Promise<void> {
    this.files.delete(`${root}/${path}`);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Counts whitespace-separated words, and records what it was asked to count. */
export class WordTokenCounter implements TokenCounter {
  readonly counted: string[] = [];

  count(text: string): number {
    this.counted.push(text);
    return text.split(/\s+/).filter(Boolean).length;
  }
}

export type ScriptedReply = { text: string; responseId?: string; usage?: Usage } | { error: unknown };

/**
 * A ModelProvider that answers from a queue: each reply is either a text (with an optional
 * response id and usage) or an error to throw. Records every request it receives.
 */
export class ScriptedModelProvider implements ModelProvider {
  /** Like the Responses API: threads kept on the provider's side (set serverThreads false to play a chat server). */
  capabilities: ProviderCapabilities = { serverThreads: true, promptCacheControls: true, structuredOutput: true, applyPatchTool: false };
  readonly requests: ModelRequest[] = [];
  private readonly replies: ScriptedReply[];
  private served = 0;

  constructor(replies: ScriptedReply[] = []) {
    this.replies = [...replies];
  }

  push(...replies: ScriptedReply[]): this {
    this.replies.push(...replies);
    return this;
  }

  async generate(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(request);
    const reply = this.replies.shift();
    if (!reply) throw new Error(`ScriptedModelProvider: no reply queued for request #${this.requests.length}`);
    this.served += 1;
    if ('error' in reply) throw reply.error;
    return {
      responseId: reply.responseId ?? `resp-${this.served}`,
      text: reply.text,
      usage: reply.usage ?? { input_tokens: 100, cached_tokens: 0, output_tokens: 10 },
    };
  }

  /** Replies queued but never asked for. */
  get pending(): number {
    return this.replies.length;
  }
}

/** A clock that moves one millisecond forward each time it is read, from `start`. */
export class SteppingClock implements Clock {
  constructor(private current = 1_000) {}

  now(): number {
    return this.current++;
  }
}

export class SequentialIds implements IdSource {
  private n = 0;

  constructor(private readonly prefix = 'wf-test-') {}

  workflowId(): string {
    this.n += 1;
    return `${this.prefix}${this.n}`;
  }
}

/**
 * `inner` seen through a database that can go away: while `isDown()` is true every call of every
 * port (and every transaction, and every call inside one) throws StorageError(connection), as the
 * PostgreSQL store does when its server is gone. The failure injected at the store level, for stores
 * (SQLite) that cannot lose a connection.
 */
export function failingStore(inner: Store, isDown: () => boolean): Store {
  const fail = () => {
    if (isDown()) throw new StorageError('connection', 'the test took the database away');
  };
  const port = <T extends object>(p: T): T =>
    new Proxy(p, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          fail();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const wrap = (s: Store): Store =>
    new Proxy(s, {
      get(target, key) {
        if (key === 'transaction') {
          return async <T>(fn: (tx: Store) => Promise<T>) => {
            fail();
            return target.transaction((tx) => fn(wrap(tx)));
          };
        }
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value === 'function') return (value as (...a: unknown[]) => unknown).bind(target);
        return value !== null && typeof value === 'object' ? port(value) : value;
      },
    });
  return wrap(inner);
}

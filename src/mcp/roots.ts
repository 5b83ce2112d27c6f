// The workspace root of this MCP session, from the client's MCP roots. When the client declared the
// `roots` capability, planexec asks roots/list after initialization and again on
// notifications/roots/list_changed; the first root that is a file:// URI of an existing folder
// becomes the root that plan_task and run_workflow give new workflows (a workflow keeps the root
// it was planned with). An explicitly configured PLANEXEC_ROOT wins: the user set it for this
// server, and a client's workspace folder must not widen (or move) what it confines reads to.
import { realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { RootsListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';

/** How long a roots/list may take before the session goes on without the client's root (ms). */
export const ROOTS_TIMEOUT_MS = 10_000;

/**
 * This session's root as the client names it. `use` false (PLANEXEC_ROOT is set): the client is not
 * asked. current() is what tools pass as the use cases' `root`: the client's folder, or undefined
 * for the configured default.
 */
export class SessionRoots {
  private root: string | undefined;
  private listing: Promise<void> | null = null;
  private generation = 0;

  constructor(
    private readonly server: McpServer,
    private readonly log: Logger,
    private readonly use: boolean,
  ) {}

  /** Listens for initialization and roots/list_changed. Call once, before connecting. */
  attach(): void {
    const inner = this.server.server;
    const previous = inner.oninitialized;
    inner.oninitialized = () => {
      previous?.();
      if (!this.use && inner.getClientCapabilities()?.roots) {
        this.log.info('the client offers MCP roots; the configured PLANEXEC_ROOT is used instead (it wins when set)');
      }
      this.refresh();
    };
    inner.setNotificationHandler(RootsListChangedNotificationSchema, () => {
      this.refresh();
    });
  }

  /** The client's root for new workflows, waiting for a listing in flight; undefined: none (use the configured root). Never throws. */
  async current(): Promise<string | undefined> {
    if (!this.listing) this.refresh();
    let awaited: Promise<void> | null;
    do {
      awaited = this.listing;
      await awaited;
    } while (awaited !== this.listing);
    return this.root;
  }

  private refresh(): void {
    if (!this.use || !this.server.server.getClientCapabilities()?.roots) {
      this.listing ??= Promise.resolve();
      return;
    }
    const generation = ++this.generation;
    this.listing = this.list().then(
      (root) => {
        if (generation === this.generation) this.root = root;
      },
      (error: unknown) => {
        // Not an answer about the roots: keep what the last listing found.
        this.log.warn({ err: error }, 'could not list the client\'s MCP roots; new workflows keep the previous root (or the configured one)');
      },
    );
  }

  private async list(): Promise<string | undefined> {
    const { roots } = await this.server.server.listRoots(undefined, { timeout: ROOTS_TIMEOUT_MS });
    for (const root of roots) {
      const folder = await usableFolder(root.uri);
      if (typeof folder !== 'string') {
        this.log.warn({ uri: root.uri, why: folder.why }, `ignoring the client's MCP root ${root.uri}: ${folder.why}`);
        continue;
      }
      this.log.info({ root: folder, name: root.name }, 'workspace root of this session: the client\'s MCP root');
      if (parse(folder).root === folder || folder === (await realpath(homedir()).catch(() => homedir()))) {
        this.log.warn({ root: folder }, 'the client\'s MCP root is the root of the file system or your home folder: any file under it can be sent to the model (files that hold secrets by convention are still withheld)');
      }
      return folder;
    }
    this.log.info({ roots: roots.length }, 'the client named no usable MCP root; new workflows use the configured root');
    return undefined;
  }
}

/** The real path of the folder a root URI names, or why it cannot be a root. */
async function usableFolder(uri: string): Promise<string | { why: string }> {
  let path: string;
  try {
    path = fileURLToPath(uri);
  } catch {
    return { why: 'not a file:// URI of this machine' };
  }
  try {
    const real = await realpath(path);
    return (await stat(real)).isDirectory() ? real : { why: 'not a folder' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { why: code === 'ENOENT' || code === 'ENOTDIR' ? 'no such folder' : `cannot be used (${code ?? String(error)})` };
  }
}

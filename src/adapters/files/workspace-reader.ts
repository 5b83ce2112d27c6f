// Reads files for prompts, confined to the workspace root: relative paths only, no "..", no symlink
// (of the file or of a folder on the way) that resolves outside the root, only regular files, and
// none that holds secrets by convention or has more than one hard link unless the user allows it.
//
// Node has no openat(), so the path cannot be walked one component at a time without a window
// between checking a path and opening it; a symlink swapped in during that window would send an
// outside file. Every decision is therefore made on the OPENED HANDLE, never on the path:
// - Linux (/proc available): open with O_PATH | O_NOFOLLOW, which resolves the path but opens
//   nothing (no FIFO, device or FUSE open happens); ask the kernel where that handle is
//   (readlink /proc/self/fd/N) and what it is (fstat); only then reopen that same inode for reading
//   through /proc/self/fd/N, which does not look the path up again.
// - Elsewhere: open with O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY (a FIFO or a device opens
//   without blocking and without becoming a controlling terminal), fstat the handle, then take the
//   realpath AFTER opening and require its (dev, ino) to be the handle's. Best effort: see the
//   `handleCheck` option.
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync, readlinkSync, realpathSync } from 'node:fs';
import { lstat, open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import type { BigIntStats, Stats } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileUnreadable, hardLinkWithheld, pathOutsideRoot, secretFileWithheld } from '../../core/errors.js';
import { relativePathProblem } from '../../core/plan.js';
import type { MissingFile, WorkspaceFile, WorkspaceReader } from '../../core/ports.js';
import { secretFileReason } from '../../core/secret-files.js';

/**
 * Linux O_PATH (include/uapi/asm-generic/fcntl.h: 010000000). Node's fs.constants does not list it.
 * Only alpha, parisc and sparc use another value, and Node does not run on those.
 */
const O_PATH = 0o10000000;
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
/** Reopening /proc/self/fd/N must follow that magic link, so no O_NOFOLLOW here. */
const REOPEN_FLAGS = O_RDONLY | O_NONBLOCK | O_NOCTTY;

const OUTSIDE = 'it resolves, through a symlink, to a place outside the workspace root';
const BECAME_LINK = 'it changed while being read (a symlink appeared in its place); try again';
const NOT_AT_PATH = 'it changed while being read (the file opened is no longer the one at its path); try again';

/** Options of {@link RootedWorkspaceReader}. All default to the safe choice. */
export interface WorkspaceReaderOptions {
  /**
   * Read regular files with more than one hard link (st_nlink > 1). Off by default: a hard link to
   * a file outside the root cannot be told apart, by any path, from a file inside it. Workspaces
   * that hard-link on purpose (pnpm stores, hard-linked node_modules copies) need it on.
   * Wired to PLANEXEC_ALLOW_HARDLINKS.
   */
  allowHardLinks?: boolean;
  /**
   * Read files that hold secrets by convention (src/core/secret-files.ts: .env, .ssh/, *.pem, …).
   * Wired to PLANEXEC_ALLOW_SECRET_FILES.
   */
  allowSecretFiles?: boolean;
  /**
   * How an opened handle is tied to the root. 'proc' (the default on Linux when /proc/self/fd
   * answers for the root) is race-free. 'stat' (the default elsewhere) compares the handle's
   * (dev, ino) with an lstat of the realpath taken after opening: a swap of the FILE is always
   * caught, but a folder on the way swapped out, back and out again between the realpath and the
   * lstat is not, since Node cannot resolve a path without following intermediate symlinks. Tests
   * pick 'stat' to cover that path on Linux. Asking for 'proc' where it does not work throws.
   */
  handleCheck?: 'proc' | 'stat';
}

interface Opened {
  handle: FileHandle;
  info: Stats | BigIntStats;
  /** Where the handle is, as an absolute path inside the real root. */
  real: string;
}

/**
 * The WorkspaceReader of the server: reads workspace-relative paths under one root folder.
 *
 * read(path, maxBytes) returns at most maxBytes bytes (cut on a UTF-8 character boundary) as a
 * WorkspaceFile (bytes = whole size, sha256 of the bytes returned, binary = the bytes read hold a
 * NUL and nothing is shown), or MissingFile for a path inside the root that does not exist. Throws:
 * - path_outside_root: absolute, "..", empty or NUL-bearing paths, and anything whose handle ends
 *   up outside the real root (a symlinked file or folder, also a dangling one pointing outside);
 * - file_unreadable: the root itself, a folder, FIFO, socket or device (none is ever opened for
 *   reading on Linux, none blocks elsewhere), an OS error (EACCES, ELOOP, …), a file that changed
 *   into a symlink while read, a file with more than one hard link (unless allowHardLinks), and a
 *   file that holds secrets by convention, by its requested or its resolved path (unless
 *   allowSecretFiles). The last two carry details.withheld and details.setting.
 * Nothing outside the root is ever read; on Linux nothing outside is even opened for reading.
 */
export class RootedWorkspaceReader {
  private readonly root: string;
  /** The real root with a trailing separator, as bytes: /proc paths are compared byte for byte. */
  private readonly rootPrefix: Buffer;
  private readonly allowHardLinks: boolean;
  private readonly allowSecretFiles: boolean;
  private readonly useProc: boolean;

  /** Throws when `root` does not exist (ENOENT from realpath), or 'proc' is asked for and unavailable. */
  constructor(root: string, options: WorkspaceReaderOptions = {}) {
    this.root = realpathSync(root);
    this.rootPrefix = Buffer.from(this.root.endsWith(sep) ? this.root : this.root + sep);
    this.allowHardLinks = options.allowHardLinks ?? false;
    this.allowSecretFiles = options.allowSecretFiles ?? false;
    const procWorks = procFdWorks(this.root);
    if (options.handleCheck === 'proc' && !procWorks) throw new Error('handleCheck "proc" needs Linux with /proc mounted');
    this.useProc = options.handleCheck === undefined ? procWorks : options.handleCheck === 'proc';
  }

  async read(path: string, maxBytes: number): Promise<WorkspaceFile | MissingFile> {
    const problem = relativePathProblem(path);
    if (problem) throw pathOutsideRoot(path, problem);
    const full = resolve(this.root, path);
    if (full === this.root) throw fileUnreadable(path, 'it is the workspace root, not a file');
    // Checked on the name asked for before anything is opened, and below on the resolved name.
    this.refuseSecret(path, path);

    const opened = this.useProc ? await this.openViaProc(path, full) : await this.openAndStat(path, full);
    if (opened === null) return { kind: 'missing', path };
    let reading: FileHandle | null = null;
    try {
      const { info } = opened;
      if (!info.isFile()) throw fileUnreadable(path, 'it is not a regular file');
      if (info.nlink > 1 && !this.allowHardLinks) throw hardLinkWithheld(path, Number(info.nlink));
      this.refuseSecret(path, relative(this.root, opened.real));
      reading = this.useProc
        ? await open(`/proc/self/fd/${opened.handle.fd}`, REOPEN_FLAGS).catch((error: NodeJS.ErrnoException) => {
            throw fileUnreadable(path, error.code ?? 'cannot open');
          })
        : opened.handle;
      return await readCapped(reading, path, Number(info.size), maxBytes);
    } finally {
      await Promise.all([opened.handle.close(), reading !== null && reading !== opened.handle ? reading.close() : null]);
    }
  }

  private refuseSecret(path: string, candidate: string): void {
    if (this.allowSecretFiles) return;
    const reason = secretFileReason(candidate);
    if (reason !== null) throw secretFileWithheld(path, candidate === path ? reason : `it resolves to '${candidate}'; ${reason}`);
  }

  /**
   * Linux: an O_PATH handle (nothing is opened for I/O), located through /proc. A final-component
   * symlink gives a handle on the link itself; it is followed once, by realpath, and the result is
   * opened the same way. Null: missing inside the root.
   */
  private async openViaProc(path: string, full: string): Promise<Opened | null> {
    let target = full;
    for (let attempt = 0; ; attempt += 1) {
      const handle = await open(target, O_PATH | O_NOFOLLOW).catch((error: NodeJS.ErrnoException) => error);
      if (!('fd' in handle)) return this.missingOrRefused(path, full, handle);
      try {
        const [where, info] = await Promise.all([readlink(`/proc/self/fd/${handle.fd}`, { encoding: 'buffer' }), handle.stat()]);
        if (!this.insideBytes(where)) throw pathOutsideRoot(path, OUTSIDE);
        if (!info.isSymbolicLink()) return { handle, info, real: where.toString('utf8') };
        if (attempt > 0) throw fileUnreadable(path, BECAME_LINK);
      } catch (error) {
        await handle.close();
        throw error;
      }
      await handle.close();
      const resolved = await this.resolveLink(path, full);
      if (resolved === null) return null;
      target = resolved;
    }
  }

  /**
   * Without /proc: open for reading (never blocks), then require the realpath taken after opening to
   * be inside the root and to name the very inode that was opened. Null: missing inside the root.
   */
  private async openAndStat(path: string, full: string): Promise<Opened | null> {
    let target = full;
    for (let attempt = 0; ; attempt += 1) {
      const handle = await open(target, READ_FLAGS).catch((error: NodeJS.ErrnoException) => error);
      if (!('fd' in handle)) {
        // ELOOP under O_NOFOLLOW: the last component is a symlink. Follow it once.
        if (handle.code !== 'ELOOP') return this.missingOrRefused(path, full, handle);
        if (attempt > 0) throw fileUnreadable(path, BECAME_LINK);
        const resolved = await this.resolveLink(path, full);
        if (resolved === null) return null;
        target = resolved;
        continue;
      }
      try {
        const [info, real] = await Promise.all([
          handle.stat({ bigint: true }),
          realpath(target).catch((error: NodeJS.ErrnoException) => {
            throw error.code === 'ENOENT' ? fileUnreadable(path, NOT_AT_PATH) : fileUnreadable(path, error.code ?? 'cannot resolve');
          }),
        ]);
        if (!this.inside(real)) throw pathOutsideRoot(path, OUTSIDE);
        const there = await lstat(real, { bigint: true }).catch(() => null);
        if (there === null || there.dev !== info.dev || there.ino !== info.ino) throw fileUnreadable(path, NOT_AT_PATH);
        return { handle, info, real };
      } catch (error) {
        await handle.close();
        throw error;
      }
    }
  }

  /** The target of a symlink at `full`, checked to be inside the root; null when it dangles inside. */
  private async resolveLink(path: string, full: string): Promise<string | null> {
    const real = await realpath(full).catch((error: NodeJS.ErrnoException) => error);
    if (typeof real !== 'string') return this.missingOrRefused(path, full, real);
    if (real === this.root) throw fileUnreadable(path, 'it is the workspace root, not a file');
    if (!this.inside(real)) throw pathOutsideRoot(path, OUTSIDE);
    return real;
  }

  /**
   * After a failed open or realpath: ENOENT is "missing" only for a place inside the root, so the
   * answer says nothing about what exists outside it; other errors are reported by code.
   */
  private async missingOrRefused(path: string, full: string, error: NodeJS.ErrnoException): Promise<null> {
    if (error.code !== 'ENOENT') throw fileUnreadable(path, error.code ?? 'unknown error');
    if (!(await this.wouldBeInside(full))) throw pathOutsideRoot(path, OUTSIDE);
    return null;
  }

  /**
   * For a path that does not exist: does it (or the symlink chain it starts) point inside the root?
   * Decides only between two refusals-or-missing answers; nothing is read on its word.
   */
  private async wouldBeInside(full: string, hops = 0): Promise<boolean> {
    if (hops > 40) return false;
    const link = await readlink(full).catch(() => null);
    if (link !== null) return this.wouldBeInside(resolve(dirname(full), link), hops + 1);
    // Not a symlink: it is inside when its nearest existing ancestor really is.
    let dir = dirname(full);
    for (;;) {
      const real = await realpath(dir).catch(() => null);
      if (real !== null) return real === this.root || this.inside(real);
      const parent = dirname(dir);
      if (parent === dir) return false;
      dir = parent;
    }
  }

  private inside(real: string): boolean {
    const rel = relative(this.root, real);
    return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  }

  private insideBytes(where: Buffer): boolean {
    return where.length > this.rootPrefix.length && where.subarray(0, this.rootPrefix.length).equals(this.rootPrefix);
  }
}

/** Does readlink(/proc/self/fd/N) of an O_PATH handle on the root name the root? False off Linux. */
function procFdWorks(root: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const fd = openSync(root, O_PATH | constants.O_DIRECTORY);
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === root;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Reads at most maxBytes from the start of an open regular file of `size` bytes. */
async function readCapped(handle: FileHandle, path: string, size: number, maxBytes: number): Promise<WorkspaceFile> {
  const want = Math.max(0, Math.min(maxBytes, size));
  // A few bytes more than we keep, to see whether the cut falls inside a UTF-8 character.
  const buffer = Buffer.alloc(Math.min(size, want + 4));
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
  const binary = buffer.subarray(0, bytesRead).includes(0);
  let end = Math.min(want, bytesRead);
  if (end < bytesRead) while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  const kept = binary ? Buffer.alloc(0) : buffer.subarray(0, end);
  return {
    kind: 'file',
    path,
    bytes: size,
    content: kept.toString('utf8'),
    truncated: binary || kept.length < size,
    binary,
    sha256: createHash('sha256').update(kept).digest('hex'),
  };
}

/**
 * The WorkspaceReader port over the file system: one RootedWorkspaceReader per root (a workflow's
 * root or worktree), made on first use with the same options. A root that does not exist (or is not
 * a folder) answers file_unreadable for every path.
 */
export class WorkspaceFileSystem implements WorkspaceReader {
  private readonly readers = new Map<string, RootedWorkspaceReader>();

  constructor(private readonly options: WorkspaceReaderOptions = {}) {}

  async read(root: string, path: string, maxBytes: number): Promise<WorkspaceFile | MissingFile> {
    let reader = this.readers.get(root);
    if (!reader) {
      try {
        reader = new RootedWorkspaceReader(root, this.options);
      } catch (error) {
        throw fileUnreadable(path, `the workspace root ${root} cannot be opened (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      this.readers.set(root, reader);
    }
    return reader.read(path, maxBytes);
  }
}

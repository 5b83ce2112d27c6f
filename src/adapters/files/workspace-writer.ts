// The files of a worktree as an editing executor changes them (WorkspaceWriter, src/core/ports.ts).
// Stricter than the reader: a path is refused when ANY existing component below the root is a
// symlink, wherever it points. A worktree links its dependency folders (node_modules, .venv) to the
// user's checkout; writing through such a link would change the user's files outside the worktree,
// and no edit a plan makes needs to go through a link.
//
// Node has no openat()/renameat(), so the components are checked with lstat from the root down and
// the file is then reached by its path; a component swapped for a symlink in between could redirect
// that. Nothing else is meant to be running in the worktree while an executor edits it (planexec
// holds the workflow's lock and runs checks afterwards), so the window is closed where it is cheap:
// - reads open with O_NOFOLLOW | O_NONBLOCK (a final symlink fails, a FIFO or device never blocks),
//   the handle must be the inode lstat saw, and on Linux the kernel's name for the handle
//   (/proc/self/fd/N) must be the expected path inside the real root;
// - writes go to a temp file created O_EXCL | O_NOFOLLOW in a parent folder opened with O_NOFOLLOW
//   and located the same way, then renamed over the target (the rename itself goes by path).
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { fileUnreadable, hardLinkWithheld, pathOutsideRoot, PlanexecError, secretFileWithheld } from '../../core/errors.js';
import { isGitFolderName } from '../../core/git-paths.js';
import { V4A_LIMITS } from '../../core/patch/v4a.js';
import { normalizeRelativePath, relativePathProblem } from '../../core/plan.js';
import type { WorkspaceWriter } from '../../core/ports.js';
import { secretFileReason } from '../../core/secret-files.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY, O_DIRECTORY } = constants;
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
const TEMP_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

/** Mode of a file written where none existed (before the umask), as git checks files out. */
const NEW_FILE_MODE = 0o644;

const CHANGED = 'it changed while being edited (a folder on its way was replaced); try again';

/** Options of {@link WorktreeFiles}. Both default to the safe choice, as the reader's do. */
export interface WorktreeFilesOptions {
  /** readText of files that hold secrets by convention (src/core/secret-files.ts). PLANEXEC_ALLOW_SECRET_FILES. */
  allowSecretFiles?: boolean;
  /** readText of files with more than one hard link. PLANEXEC_ALLOW_HARDLINKS. */
  allowHardLinks?: boolean;
  /** Largest file readText reads, bytes; default V4A_LIMITS.maxFileBytes (16 MiB), what the applier takes. */
  maxFileBytes?: number;
}

/** A checked path: its normal form, its segments, and the root it is under. */
interface Target {
  /** As the caller gave it (for messages). */
  path: string;
  root: string;
  segments: string[];
}

/**
 * WorkspaceWriter over the file system. `root` is a worktree's absolute path; `path` is relative to
 * it ('/' or '\' separated, './' and repeated separators allowed, as normalizeRelativePath reads it).
 *
 * Refusals (PlanexecError), before anything is changed:
 * - path_outside_root: an absolute or empty path, one with '..' or a NUL byte, a segment git reads
 *   as its own .git folder ('.git' in any case, '.git.', 'git~1', ...: isGitFolderName), and any path on which an existing component below the root is a symlink (the message
 *   names the link: a linked dependency folder, or a link that may point out of the worktree);
 * - file_unreadable: the root itself, a root that is missing, relative or not a folder; a target
 *   that is a folder, FIFO, socket or device (never opened); a parent that is a file (readText, writeText);
 *   for readText also a file with NUL bytes ('binary'), one that is not valid UTF-8, one larger than
 *   maxFileBytes, one that holds secrets by convention or has several hard links (unless allowed;
 *   details.withheld as the reader's), and OS errors by code (EACCES, ENOSPC, …).
 *
 * readText: the file's text, decoded from UTF-8 exactly (a BOM and CR LF line ends are kept), or
 * null when nothing exists at the path (file_unreadable when a folder on the way is a file: nothing
 * could be written there either). writeText: writes the UTF-8
 * bytes of `content` through a temp file in the same folder (mode of the file it replaces, else
 * 0644 under the umask; renamed over the target), creating missing folders, and answers whether it
 * created the file (true) or replaced one (false); a crash of the process
 * leaves the old file or the new one, and at worst a '.planexec-*.tmp' file that git sees as
 * untracked. Nothing is fsynced: what an attempt writes counts only once it is committed (git makes
 * its objects durable), and after any crash, the machine's included, the worktree is reset to the
 * last recorded commit before the next attempt (withApplyLock in src/core/changes.ts); two fsyncs
 * a file cost 2-4 ms on the bench machine's ext4, against the 50 ms apply + commit target.
 * remove: unlinks a regular file; nothing happens when there is none.
 */
export class WorktreeFiles implements WorkspaceWriter {
  private readonly allowSecretFiles: boolean;
  private readonly allowHardLinks: boolean;
  private readonly maxFileBytes: number;

  constructor(options: WorktreeFilesOptions = {}) {
    this.allowSecretFiles = options.allowSecretFiles ?? false;
    this.allowHardLinks = options.allowHardLinks ?? false;
    this.maxFileBytes = options.maxFileBytes ?? V4A_LIMITS.maxFileBytes;
  }

  async readText(root: string, path: string): Promise<string | null> {
    const target = await checkTarget(root, path);
    const info = await walk(target, 'read');
    if (info === null) return null;
    this.refuseWithheld(target, info);
    if (info.size > this.maxFileBytes) throw fileUnreadable(path, `it is ${info.size} bytes; files of at most ${this.maxFileBytes} bytes are edited`);

    const handle = await open(join(target.root, ...target.segments), READ_FLAGS).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ELOOP' ? linkRefusal(target, target.segments.length, null) : osError(path, error);
    });
    try {
      const opened = await handle.stat();
      if (!opened.isFile() || opened.dev !== info.dev || opened.ino !== info.ino) throw fileUnreadable(path, CHANGED);
      await checkLocation(handle, target, target.segments.length);
      const bytes = await readAll(handle, path, this.maxFileBytes);
      if (bytes.includes(0)) throw fileUnreadable(path, 'it is binary (it holds NUL bytes); only text files are edited');
      try {
        return UTF8.decode(bytes);
      } catch {
        throw fileUnreadable(path, 'it is not UTF-8 text; only UTF-8 files are edited');
      }
    } finally {
      await handle.close();
    }
  }

  async writeText(root: string, path: string, content: string): Promise<boolean> {
    const target = await checkTarget(root, path);
    const existing = await walk(target, 'write');
    const dirPath = join(target.root, ...target.segments.slice(0, -1));
    const dir = await open(dirPath, DIR_FLAGS).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ELOOP' || error.code === 'ENOTDIR' ? fileUnreadable(path, CHANGED) : osError(path, error);
    });
    try {
      await checkLocation(dir, target, target.segments.length - 1);
      const temp = join(dirPath, `.planexec-${randomBytes(8).toString('hex')}.tmp`);
      const mode = existing ? existing.mode & 0o777 : NEW_FILE_MODE;
      const file = await open(temp, TEMP_FLAGS, mode).catch((error: NodeJS.ErrnoException) => {
        throw osError(path, error);
      });
      let renamed = false;
      try {
        try {
          await file.writeFile(Buffer.from(content, 'utf8'));
          // open() applies the umask; an existing file keeps its exact permission bits.
          if (existing) await file.chmod(mode);
        } finally {
          await file.close();
        }
        await rename(temp, join(dirPath, target.segments.at(-1)!));
        renamed = true;
      } catch (error) {
        throw error instanceof PlanexecError ? error : osError(path, error as NodeJS.ErrnoException);
      } finally {
        if (!renamed) await unlink(temp).catch(() => undefined);
      }
    } finally {
      await dir.close();
    }
    return existing === null;
  }

  async remove(root: string, path: string): Promise<void> {
    const target = await checkTarget(root, path);
    const info = await walk(target, 'remove');
    if (info === null) return;
    await unlink(join(target.root, ...target.segments)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw osError(path, error);
    });
  }

  private refuseWithheld(target: Target, info: Stats): void {
    if (!this.allowSecretFiles) {
      const reason = secretFileReason(target.segments.join('/'));
      if (reason !== null) throw secretFileWithheld(target.path, reason);
    }
    if (info.nlink > 1 && !this.allowHardLinks) throw hardLinkWithheld(target.path, info.nlink);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function osError(path: string, error: NodeJS.ErrnoException): PlanexecError {
  return fileUnreadable(path, error.code ?? error.message);
}

/** The path checked as a string, and the root as a folder (its real path, for the /proc check). */
async function checkTarget(root: string, path: string): Promise<Target> {
  const problem = relativePathProblem(path);
  if (problem) throw pathOutsideRoot(path, problem);
  const segments = normalizeRelativePath(path)
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  if (segments.length === 0) throw fileUnreadable(path, 'it is the worktree itself, not a file');
  if (segments.some(isGitFolderName)) throw pathOutsideRoot(path, "it is inside .git (or a name git reads as .git), which planexec's edits never touch");
  if (!isAbsolute(root)) throw fileUnreadable(path, `the worktree '${root}' is not an absolute path`);
  const real = await realpath(root).catch((error: NodeJS.ErrnoException) => {
    throw fileUnreadable(path, `the worktree ${root} cannot be opened (${error.code ?? error.message})`);
  });
  if (!(await stat(real)).isDirectory()) throw fileUnreadable(path, `the worktree ${root} is not a folder`);
  return { path, root: real, segments };
}

/**
 * lstat of each component from the root down. Refuses a symlink anywhere; the folders on the way
 * must be folders (writeText creates the missing ones, one at a time, re-checking each). Returns the
 * target's lstat when it is a regular file, null when it does not exist, and refuses anything else.
 */
async function walk(target: Target, purpose: 'read' | 'write' | 'remove'): Promise<Stats | null> {
  const { path, root, segments } = target;
  for (let i = 1; i <= segments.length; i += 1) {
    const full = join(root, ...segments.slice(0, i));
    const last = i === segments.length;
    let info = await lstatOrNull(path, full);
    if (info === null) {
      if (last || purpose !== 'write') return null;
      // A folder created by someone else meanwhile is fine: lstat decides what it is.
      await mkdir(full).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw osError(path, error);
      });
      info = await lstatOrNull(path, full);
      if (info === null) throw fileUnreadable(path, CHANGED);
    }
    if (info.isSymbolicLink()) throw linkRefusal(target, i, await stat(full).catch(() => null));
    if (last) {
      if (info.isFile()) return info;
      throw fileUnreadable(path, `it is ${kindOf(info)}, not a regular file`);
    }
    if (!info.isDirectory()) {
      // Nothing can exist under a file: nothing to remove. A write cannot make the folder, and a read
      // says so too, so that an edit there is refused before anything is written.
      if (purpose === 'remove') return null;
      throw fileUnreadable(path, `'${segments.slice(0, i).join('/')}' is ${kindOf(info)}, not a folder, so it cannot hold the file`);
    }
  }
  return null;
}

async function lstatOrNull(path: string, full: string): Promise<Stats | null> {
  return lstat(full).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return null;
    throw osError(path, error);
  });
}

/** The refusal of a path whose `depth`-th component is a symlink (`pointsTo`: stat through it, if it resolves). */
function linkRefusal(target: Target, depth: number, pointsTo: Stats | null): PlanexecError {
  const link = target.segments.slice(0, depth).join('/');
  const what = pointsTo?.isDirectory()
    ? 'a link to a folder (such as a dependency folder linked into the worktree)'
    : pointsTo === null
      ? 'a link'
      : 'a link to a file that may lie outside the worktree';
  return pathOutsideRoot(target.path, `'${link}' is ${what}; planexec edits only files it reaches without following a link`);
}

function kindOf(info: Stats): string {
  if (info.isFile()) return 'a file';
  if (info.isDirectory()) return 'a folder';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSymbolicLink()) return 'a link';
  return 'not a regular file';
}

/**
 * On Linux, the kernel's name for an open handle must be the expected place under the real root
 * (`depth` segments of the target): a folder on the way swapped for a link after the lstat walk is
 * caught here. Elsewhere (no /proc) the lstat walk and O_NOFOLLOW are all there is.
 */
async function checkLocation(handle: FileHandle, target: Target, depth: number): Promise<void> {
  if (process.platform !== 'linux') return;
  const where = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
  if (where === null) return;
  if (where !== join(target.root, ...target.segments.slice(0, depth))) throw fileUnreadable(target.path, CHANGED);
}

/** The whole file, refusing one that grew past `max` since it was measured. */
async function readAll(handle: FileHandle, path: string, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, max + 1 - total));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
    if (total > max) throw fileUnreadable(path, `it is more than ${max} bytes; files of at most ${max} bytes are edited`);
  }
}

// Reads files for prompts, confined to the workspace root: relative paths only, no "..", and no
// symlink (of the file or of a folder on the way) that resolves outside the root.
import { createHash } from 'node:crypto';
import { open, readlink, realpath, stat } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileUnreadable, pathOutsideRoot } from '../../core/errors.js';
import { relativePathProblem } from '../../core/plan.js';
import type { MissingFile, WorkspaceFile, WorkspaceReader } from '../../core/ports.js';

export class RootedWorkspaceReader implements WorkspaceReader {
  private readonly root: string;

  constructor(root: string) {
    this.root = realpathSync(root);
  }

  async read(path: string, maxBytes: number): Promise<WorkspaceFile | MissingFile> {
    const problem = relativePathProblem(path);
    if (problem) throw pathOutsideRoot(path, problem);
    const full = resolve(this.root, path);
    if (full === this.root) throw fileUnreadable(path, 'it is the workspace root, not a file');
    let real: string;
    try {
      real = await realpath(full);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileUnreadable(path, (error as NodeJS.ErrnoException).code ?? 'unknown error');
      // Missing, or a dangling symlink: answer "missing" only for a place inside the root, so the
      // answer says nothing about what exists outside it.
      if (!(await this.wouldBeInside(full))) throw pathOutsideRoot(path, 'it resolves, through a symlink, to a place outside the workspace root');
      return { kind: 'missing', path };
    }
    if (!this.inside(real)) throw pathOutsideRoot(path, 'it resolves, through a symlink, to a place outside the workspace root');

    // Check the kind before opening: open() on a named pipe would block until a writer appears.
    const info = await stat(real).catch((error: NodeJS.ErrnoException) => {
      throw fileUnreadable(path, error.code ?? 'cannot read');
    });
    if (!info.isFile()) throw fileUnreadable(path, 'it is not a regular file');
    const handle = await open(real, 'r').catch((error: NodeJS.ErrnoException) => {
      throw fileUnreadable(path, error.code ?? 'cannot open');
    });
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) throw fileUnreadable(path, 'it is not a regular file');
      const want = Math.max(0, Math.min(maxBytes, opened.size));
      // A few bytes more than we keep, to see whether the cut falls inside a UTF-8 character.
      const buffer = Buffer.alloc(Math.min(opened.size, want + 4));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      const binary = buffer.subarray(0, bytesRead).includes(0);
      let end = Math.min(want, bytesRead);
      if (end < bytesRead) while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end -= 1;
      const kept = binary ? Buffer.alloc(0) : buffer.subarray(0, end);
      return {
        kind: 'file',
        path,
        bytes: opened.size,
        content: kept.toString('utf8'),
        truncated: binary || kept.length < opened.size,
        binary,
        sha256: createHash('sha256').update(kept).digest('hex'),
      };
    } finally {
      await handle.close();
    }
  }

  /** For a path that does not exist: does it (or the symlink chain it starts) point inside the root? */
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
}

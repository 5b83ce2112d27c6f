// Reads files for prompts, confined to the workspace root: relative paths only, no "..", and no
// symlink (of the file or of a folder on the way) that resolves outside the root.
import { createHash } from 'node:crypto';
import { open, realpath } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
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
    let real: string;
    try {
      real = await realpath(resolve(this.root, path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing', path };
      throw fileUnreadable(path, (error as NodeJS.ErrnoException).code ?? 'unknown error');
    }
    if (!this.inside(real)) throw pathOutsideRoot(path, 'it resolves, through a symlink, to a place outside the workspace root');

    const handle = await open(real, 'r').catch((error: NodeJS.ErrnoException) => {
      throw fileUnreadable(path, error.code ?? 'cannot open');
    });
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw fileUnreadable(path, 'it is not a regular file');
      const want = Math.max(0, Math.min(maxBytes, stat.size));
      // A few bytes more than we keep, to see whether the cut falls inside a UTF-8 character.
      const buffer = Buffer.alloc(Math.min(stat.size, want + 4));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      const binary = buffer.subarray(0, bytesRead).includes(0);
      let end = Math.min(want, bytesRead);
      if (end < bytesRead) while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end -= 1;
      const kept = binary ? Buffer.alloc(0) : buffer.subarray(0, end);
      return {
        kind: 'file',
        path,
        bytes: stat.size,
        content: kept.toString('utf8'),
        truncated: binary || kept.length < stat.size,
        binary,
        sha256: createHash('sha256').update(kept).digest('hex'),
      };
    } finally {
      await handle.close();
    }
  }

  private inside(real: string): boolean {
    const rel = relative(this.root, real);
    return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  }
}

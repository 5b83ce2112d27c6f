// WorktreeFiles on real folders, real symlinks and a real FIFO: text read and written exactly (UTF-8,
// BOM, CR LF), folders created, atomic replacement keeping the mode, and every refusal: paths leaving
// the worktree, .git, a link anywhere on the way (a linked dependency folder, a link out), folders,
// FIFOs, binary and non-UTF-8 files, secrets and hard links.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorktreeFiles } from '../../src/adapters/files/workspace-writer.js';
import { PlanexecError } from '../../src/core/errors.js';

let dir: string;
let root: string;
let outside: string;
let files: WorktreeFiles;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-writer-'));
  root = join(dir, 'worktree');
  outside = join(dir, 'outside');
  mkdirSync(root);
  mkdirSync(join(outside, 'pkg'), { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), 'TOP SECRET\n');
  writeFileSync(join(outside, 'pkg', 'index.js'), 'module.exports = 1;\n');
  files = new WorktreeFiles();
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function put(path: string, content: string | Buffer): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}

/** The PlanexecError a call rejects with (fails the test when it resolves). */
async function refusal(promise: Promise<unknown>): Promise<PlanexecError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(PlanexecError);
  return outcome.error as PlanexecError;
}

/** Every entry under the root, recursively, '/' separated (links not followed). */
function tree(at = root, prefix = ''): string[] {
  return readdirSync(at, { withFileTypes: true }).flatMap((e) => {
    const rel = `${prefix}${e.name}`;
    return e.isDirectory() ? [`${rel}/`, ...tree(join(at, e.name), `${rel}/`)] : [rel];
  });
}

describe('reading and writing inside the worktree', () => {
  it('reads a file back exactly as written, BOM, CR LF, mixed endings and non-ASCII included', async () => {
    const text = '\uFEFFline one\r\nline two\nçà 日本 🎉\r\nno newline at the end';
    await files.writeText(root, 'src/deep/er/file.ts', text);
    expect(readFileSync(join(root, 'src/deep/er/file.ts'))).toEqual(Buffer.from(text, 'utf8'));
    expect(await files.readText(root, 'src/deep/er/file.ts')).toBe(text);
    put('given.txt', Buffer.from([0xef, 0xbb, 0xbf, 0x61, 0x0d, 0x0a]));
    expect(await files.readText(root, './given.txt')).toBe('\uFEFFa\r\n');
    expect(await files.readText(root, 'src//deep/./er/file.ts')).toBe(text);
  });

  it('answers null for a file that does not exist, also under a missing folder; under a file it says the file cannot hold it', async () => {
    put('a.txt', 'a\n');
    expect(await files.readText(root, 'missing.txt')).toBeNull();
    expect(await files.readText(root, 'no/such/folder/x.ts')).toBeNull();
    // Nothing could be written there either: an edit of it is refused before anything is written.
    await expect(files.readText(root, 'a.txt/b')).rejects.toMatchObject({ code: 'file_unreadable', message: expect.stringContaining("'a.txt' is a file, not a folder") });
    expect(await files.readText(root, 'a.txt')).toBe('a\n');
  });

  it('writes an empty file, and replaces a file whole; says whether it created the file', async () => {
    expect(await files.writeText(root, 'empty.txt', '')).toBe(true);
    expect(await files.readText(root, 'empty.txt')).toBe('');
    put('x.txt', 'a much longer old content\n'.repeat(100));
    expect(await files.writeText(root, 'x.txt', 'short\n')).toBe(false);
    expect(readFileSync(join(root, 'x.txt'), 'utf8')).toBe('short\n');
  });

  it('works when the root is reached through a link (the root itself may be one)', async () => {
    const alias = join(dir, 'alias');
    symlinkSync(root, alias);
    await files.writeText(alias, 'a.txt', 'through the alias\n');
    expect(readFileSync(join(root, 'a.txt'), 'utf8')).toBe('through the alias\n');
    expect(await files.readText(alias, 'a.txt')).toBe('through the alias\n');
    await files.remove(alias, 'a.txt');
    expect(existsSync(join(root, 'a.txt'))).toBe(false);
  });

  it('removes a file, and does nothing for one that is not there', async () => {
    put('src/a.ts', 'a\n');
    await files.remove(root, 'src/a.ts');
    expect(existsSync(join(root, 'src/a.ts'))).toBe(false);
    expect(existsSync(join(root, 'src'))).toBe(true);
    await files.remove(root, 'src/a.ts');
    await files.remove(root, 'never/was/here.ts');
    expect(tree()).toEqual(['src/']);
  });
});

describe('atomic replacement', () => {
  it('replaces the file by renaming a complete new one over it: new inode, old links keep the old text, no temp left', async () => {
    put('src/app.ts', 'old\n');
    const before = statSync(join(root, 'src/app.ts')).ino;
    linkSync(join(root, 'src/app.ts'), join(dir, 'old-link'));
    await files.writeText(root, 'src/app.ts', 'new\n');
    expect(statSync(join(root, 'src/app.ts')).ino).not.toBe(before);
    expect(readFileSync(join(root, 'src/app.ts'), 'utf8')).toBe('new\n');
    // Written in place, the other name of the old inode would show the new text.
    expect(readFileSync(join(dir, 'old-link'), 'utf8')).toBe('old\n');
    expect(readdirSync(join(root, 'src'))).toEqual(['app.ts']);
  });

  it('keeps the permission bits of the file it replaces, and writes new files as 0644 (under the umask)', async () => {
    put('run.sh', '#!/bin/sh\n');
    chmodSync(join(root, 'run.sh'), 0o755);
    put('private.txt', 'p\n');
    chmodSync(join(root, 'private.txt'), 0o600);
    put('group.txt', 'g\n');
    chmodSync(join(root, 'group.txt'), 0o664);
    await files.writeText(root, 'run.sh', '#!/bin/sh\necho hi\n');
    await files.writeText(root, 'private.txt', 'still private\n');
    await files.writeText(root, 'group.txt', 'group-writable kept although the umask would drop it\n');
    expect(statSync(join(root, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, 'private.txt')).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, 'group.txt')).mode & 0o777).toBe(0o664);
    await files.writeText(root, 'fresh.txt', 'new\n');
    const mode = statSync(join(root, 'fresh.txt')).mode & 0o777;
    expect(mode & ~0o644).toBe(0);
    expect(mode & 0o600).toBe(0o600);
  });
});

describe('refusals', () => {
  it('refuses paths that leave the worktree, name it, or lie inside .git', async () => {
    put('.git/config', '[core]\n');
    for (const path of ['../x', '../worktree/a.txt', 'a/../../x', '/etc/passwd', 'C:\\x', '', '.git/config', '.git', 'sub/.GIT/x']) {
      for (const call of [() => files.readText(root, path), () => files.writeText(root, path, 'x'), () => files.remove(root, path)]) {
        expect((await refusal(call())).code, path).toBe('path_outside_root');
      }
    }
    for (const path of ['.', './', './/.']) {
      expect((await refusal(files.writeText(root, path, 'x'))).code, path).toBe('file_unreadable');
      expect((await refusal(files.readText(root, path))).code, path).toBe('file_unreadable');
    }
    expect(readFileSync(join(root, '.git/config'), 'utf8')).toBe('[core]\n');
    expect(readdirSync(dir).sort()).toEqual(['outside', 'worktree']);
  });

  it('refuses a path through a linked folder (a dependency folder), naming the link, and changes nothing', async () => {
    symlinkSync(outside, join(root, 'node_modules'));
    for (const call of [
      () => files.readText(root, 'node_modules/pkg/index.js'),
      () => files.writeText(root, 'node_modules/pkg/index.js', 'pwned\n'),
      () => files.writeText(root, 'node_modules/new/file.js', 'pwned\n'),
      () => files.remove(root, 'node_modules/pkg/index.js'),
    ]) {
      const error = await refusal(call());
      expect(error.code).toBe('path_outside_root');
      expect(error.message).toContain("'node_modules' is a link to a folder (such as a dependency folder linked into the worktree)");
    }
    expect(readFileSync(join(outside, 'pkg', 'index.js'), 'utf8')).toBe('module.exports = 1;\n');
    expect(readdirSync(outside).sort()).toEqual(['pkg', 'secret.txt']);
    expect(lstatSync(join(root, 'node_modules')).isSymbolicLink()).toBe(true);
  });

  it('refuses a file that is a link, out of the worktree, inside it, or dangling, and leaves the link and its target alone', async () => {
    put('real.txt', 'real\n');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'out.txt'));
    symlinkSync('real.txt', join(root, 'in.txt'));
    symlinkSync(join(outside, 'nothing-here.txt'), join(root, 'dangling.txt'));
    for (const path of ['out.txt', 'in.txt', 'dangling.txt']) {
      for (const call of [() => files.readText(root, path), () => files.writeText(root, path, 'overwritten\n'), () => files.remove(root, path)]) {
        const error = await refusal(call());
        expect(error.code, path).toBe('path_outside_root');
        expect(error.message).toContain(`'${path}' is a link`);
      }
      expect(lstatSync(join(root, path)).isSymbolicLink()).toBe(true);
    }
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET\n');
    expect(readFileSync(join(root, 'real.txt'), 'utf8')).toBe('real\n');
    expect(existsSync(join(outside, 'nothing-here.txt'))).toBe(false);
  });

  it('refuses a linked folder deeper down, not only at the top', async () => {
    mkdirSync(join(root, 'packages/app'), { recursive: true });
    symlinkSync(outside, join(root, 'packages/app/vendor'));
    const error = await refusal(files.writeText(root, 'packages/app/vendor/pkg/index.js', 'x'));
    expect(error.message).toContain("'packages/app/vendor' is a link");
    expect(readFileSync(join(outside, 'pkg', 'index.js'), 'utf8')).toBe('module.exports = 1;\n');
  });

  it('refuses a FIFO without opening it (no hang), for reading, writing and removing', async () => {
    execFileSync('mkfifo', [join(root, 'pipe')]);
    for (const call of [() => files.readText(root, 'pipe'), () => files.writeText(root, 'pipe', 'x'), () => files.remove(root, 'pipe')]) {
      const error = await refusal(call());
      expect(error.code).toBe('file_unreadable');
      expect(error.message).toContain('a FIFO');
    }
    expect(lstatSync(join(root, 'pipe')).isFIFO()).toBe(true);
  });

  it('refuses a folder as a file, and a file as a folder', async () => {
    put('src/a.ts', 'a\n');
    for (const call of [() => files.readText(root, 'src'), () => files.writeText(root, 'src', 'x'), () => files.remove(root, 'src')]) {
      const error = await refusal(call());
      expect(error.code).toBe('file_unreadable');
      expect(error.message).toContain('a folder');
    }
    const error = await refusal(files.writeText(root, 'src/a.ts/b.ts', 'x'));
    expect(error.code).toBe('file_unreadable');
    expect(error.message).toContain("'src/a.ts' is a file, not a folder");
    expect(readFileSync(join(root, 'src/a.ts'), 'utf8')).toBe('a\n');
  });

  it('refuses to read binary files and files that are not UTF-8, rather than change their bytes', async () => {
    put('image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
    put('latin1.txt', Buffer.from('caf\xe9\n', 'latin1'));
    const binary = await refusal(files.readText(root, 'image.png'));
    expect(binary.code).toBe('file_unreadable');
    expect(binary.message).toContain('binary');
    const latin = await refusal(files.readText(root, 'latin1.txt'));
    expect(latin.code).toBe('file_unreadable');
    expect(latin.message).toContain('not UTF-8');
  });

  it('withholds secret files and hard-linked files from reading unless allowed, as the reader does', async () => {
    put('.env', 'KEY=value\n');
    put('shared.txt', 'shared\n');
    linkSync(join(root, 'shared.txt'), join(dir, 'elsewhere.txt'));
    expect((await refusal(files.readText(root, '.env'))).details).toMatchObject({ withheld: 'secret_file' });
    expect((await refusal(files.readText(root, 'shared.txt'))).details).toMatchObject({ withheld: 'hard_link', links: 2 });
    const allowing = new WorktreeFiles({ allowSecretFiles: true, allowHardLinks: true });
    expect(await allowing.readText(root, '.env')).toBe('KEY=value\n');
    expect(await allowing.readText(root, 'shared.txt')).toBe('shared\n');
  });

  it('refuses to read a file larger than maxFileBytes', async () => {
    put('big.txt', 'x'.repeat(101));
    put('fits.txt', 'x'.repeat(100));
    const small = new WorktreeFiles({ maxFileBytes: 100 });
    expect((await refusal(small.readText(root, 'big.txt'))).message).toContain('101 bytes');
    expect(await small.readText(root, 'fits.txt')).toBe('x'.repeat(100));
  });

  it('refuses a worktree that is missing, relative or a file', async () => {
    put('a.txt', 'a\n');
    for (const bad of [join(dir, 'missing'), 'worktree', join(root, 'a.txt')]) {
      expect((await refusal(files.readText(bad, 'a.txt'))).code, bad).toBe('file_unreadable');
      expect((await refusal(files.writeText(bad, 'b.txt', 'b'))).code, bad).toBe('file_unreadable');
    }
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});

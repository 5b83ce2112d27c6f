// A fresh worktree has none of what git ignores, so the checks of a real project (which need its
// installed dependencies) would fail there. By default the root's ignored dependency folders are
// symlinked into the worktree at the same place, and kept out of every commit.
import { appendFile, lstat, mkdir, readFile, readlink, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { GitExec } from './git-exec.js';
import { nulFields } from './git-exec.js';

/**
 * Folder names linked when git ignores them in the root, at any depth where the worktree has the
 * parent folder (so `web/node_modules` of a monorepo too). Installed dependencies only:
 * - node_modules (npm, yarn, pnpm), bower_components;
 * - .venv, venv (Python virtual environments);
 * - vendor (Composer; Bundler's vendor/bundle; a Go vendor folder is committed, so never ignored).
 * Build output (target, dist, build, .next) is NOT linked: a build in the worktree would write into
 * the root's folder through the link. With PLANEXEC_WORKTREE_SETUP set nothing is linked: the setup
 * command installs what the worktree needs (an `npm ci` through a link would rewrite the root's folder).
 */
export const DEPENDENCY_FOLDERS: readonly string[] = ['node_modules', 'bower_components', '.venv', 'venv', 'vendor'];

const EXCLUDE_HEADER = '# planexec: dependency folders linked into its worktrees (ignored in this repository already)';

/** A path as a gitignore pattern anchored at the top level, special characters escaped. */
export function excludePattern(path: string): string {
  const escaped = path.replace(/[\\*?[\]!#]/g, '\\$&').replace(/ $/, '\\ ');
  return `/${escaped}`;
}

/** The ignored dependency folders of the repository at `top` (relative, '/'-separated, sorted). */
export async function ignoredDependencyFolders(git: GitExec, top: string): Promise<string[]> {
  // --directory shows an ignored folder once, without walking into it; -o -i: untracked and ignored.
  const { stdout } = await git.run(['ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory'], { cwd: top });
  const found: string[] = [];
  for (const entry of nulFields(stdout)) {
    if (!entry.endsWith('/')) continue;
    const rel = entry.slice(0, -1);
    if (!DEPENDENCY_FOLDERS.includes(basename(rel))) continue;
    const info = await lstat(join(top, rel)).catch(() => null);
    if (info?.isDirectory()) found.push(rel);
  }
  return found.sort();
}

/**
 * Links each of `folders` (relative to `top`) into `worktree` as an absolute symlink, when the
 * worktree has its parent folder and nothing at that place yet; a link already pointing there is
 * kept (a restarted process). Each linked path is added, anchored, to the repository's
 * info/exclude (`infoExclude`, the common one: git reads no per-worktree exclude file) so that
 * `git add -A` and `git clean` never see the link; git ignores those folders in the root already,
 * so the lines change nothing there. Returns the paths linked (now or before).
 */
export async function linkFolders(top: string, worktree: string, folders: readonly string[], infoExclude: string): Promise<string[]> {
  const linked: string[] = [];
  for (const rel of folders) {
    const target = join(top, rel);
    const place = join(worktree, rel);
    const parent = await lstat(dirname(place)).catch(() => null);
    if (!parent?.isDirectory()) continue;
    const existing = await lstat(place).catch(() => null);
    if (existing) {
      if (existing.isSymbolicLink() && (await readlink(place)) === target) linked.push(rel);
      continue; // something else is there (e.g. a folder the setup command made): leave it
    }
    await symlink(target, place, 'dir');
    linked.push(rel);
  }
  if (linked.length) await addExcludes(infoExclude, linked.map(excludePattern));
  return linked;
}

async function addExcludes(file: string, patterns: string[]): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => '');
  const have = new Set(current.split('\n'));
  const missing = patterns.filter((p) => !have.has(p));
  if (!missing.length) return;
  await mkdir(dirname(file), { recursive: true });
  const head = have.has(EXCLUDE_HEADER) ? '' : `${current && !current.endsWith('\n') ? '\n' : ''}${EXCLUDE_HEADER}\n`;
  await appendFile(file, `${head}${missing.join('\n')}\n`);
}

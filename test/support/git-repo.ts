// Real git repositories in temp folders, isolated from the machine's git config: every git here (and
// the GitChanges under test, through ISOLATED_GIT_ENV) runs with GIT_CONFIG_GLOBAL=/dev/null and
// GIT_CONFIG_NOSYSTEM=1, and each repository sets its own user.name/email and default branch.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const ISOLATED_GIT_ENV: Record<string, string | undefined> = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: undefined,
  GIT_AUTHOR_EMAIL: undefined,
  GIT_COMMITTER_NAME: undefined,
  GIT_COMMITTER_EMAIL: undefined,
  GIT_DIR: undefined,
  GIT_WORK_TREE: undefined,
};

const gitEnv = Object.fromEntries(Object.entries(ISOLATED_GIT_ENV).filter(([, v]) => v !== undefined)) as Record<string, string>;

/** Runs git in `cwd` with the isolated environment; returns stdout without the final newline. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).replace(/\n$/, '');
}

/** Like git() but returns the exit code instead of throwing. */
export function gitCode(cwd: string, ...args: string[]): number {
  try {
    execFileSync('git', args, { cwd, env: gitEnv, stdio: 'ignore' });
    return 0;
  } catch (error) {
    return (error as { status: number }).status;
  }
}

export function put(dir: string, path: string, content: string | Buffer): void {
  const full = join(dir, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}

export interface TempRepo {
  /** Folder holding the repository ('repo') and anything else a test makes. */
  dir: string;
  root: string;
  commitAll(message: string): string;
  cleanup(): void;
}

/** A repository on branch main with `files` committed (one commit); user "Test User". */
export function tempRepo(files: Record<string, string> = { 'README.md': 'hello\n' }): TempRepo {
  const dir = mkdtempSync(join(tmpdir(), 'planexec-git-'));
  const root = join(dir, 'repo');
  mkdirSync(root);
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'config', 'user.name', 'Test User');
  git(root, 'config', 'user.email', 'test@example.com');
  for (const [path, content] of Object.entries(files)) put(root, path, content);
  const commitAll = (message: string) => {
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '--allow-empty', '-m', message);
    return git(root, 'rev-parse', 'HEAD');
  };
  commitAll('initial');
  return { dir, root, commitAll, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Makes the existing folder `root` a repository on branch main with `files` committed as "Initial". */
export function makeRepo(root: string, files: Record<string, string>): void {
  git(root, 'init', '-q', '-b', 'main');
  git(root, 'config', 'user.name', 'Test User');
  git(root, 'config', 'user.email', 'test@example.com');
  for (const [path, content] of Object.entries(files)) put(root, path, content);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'Initial');
}

// Helpers for tests that drive test/support/fake-codex.mjs: a private folder with a script, the env that
// points the fake at it, and readers for what the fake logged.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The fake CLI, run directly (it has a `#!/usr/bin/env node` line and the executable bit). */
export const FAKE_CODEX = resolve('test/support/fake-codex.mjs');

/** One reply of the fake's script; see the header of fake-codex.mjs for every field. */
export type FakeCodexReply = Record<string, unknown>;

/** One line of the fake's log. */
export interface FakeCodexRun {
  kind: 'exec' | 'login';
  argv: string[];
  cwd: string;
  stdin: string | null;
  /** Names of the environment variables the fake saw (never their values). */
  env: string[];
  pid: number;
  ppid: number;
  pgid: number | null;
  call: number | null;
  thread_id: string | null;
  resumed: boolean;
  config: Record<string, unknown>;
  grandchild_pid?: number;
}

export interface FakeCodexHome {
  dir: string;
  /** An empty folder to pass as the CLI's working root (-C). */
  workdir: string;
  log: string;
  /** Environment for the fake: PATH (with this node first), HOME, and the FAKE_CODEX_* variables. */
  env: Record<string, string>;
  /** Replaces the script (and forgets the calls counted so far). */
  script(replies: FakeCodexReply[], fallback?: FakeCodexReply): void;
  /** Every run logged so far, in order of writing. */
  runs(): FakeCodexRun[];
  cleanup(): void;
}

/** A private folder for one test: script, state, threads and log live there. */
export function fakeCodexHome(replies: FakeCodexReply[] = [], fallback?: FakeCodexReply): FakeCodexHome {
  const dir = mkdtempSync(join(tmpdir(), 'fake-codex-'));
  const workdir = join(dir, 'work');
  mkdirSync(workdir);
  const scriptFile = join(dir, 'script.json');
  const state = join(dir, 'state');
  const log = join(dir, 'runs.jsonl');
  const home: FakeCodexHome = {
    dir,
    workdir,
    log,
    env: {
      PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: dir,
      CODEX_HOME: join(dir, 'codex-home'),
      FAKE_CODEX_SCRIPT: scriptFile,
      FAKE_CODEX_STATE: state,
      FAKE_CODEX_LOG: log,
    },
    script(list, fb) {
      writeFileSync(scriptFile, JSON.stringify(fb ? { replies: list, default: fb } : { replies: list }));
      rmSync(join(state, 'calls'), { recursive: true, force: true });
    },
    runs() {
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as FakeCodexRun);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  home.script(replies, fallback);
  return home;
}

/** True once a process has exited (a zombie waiting for its parent counts as exited). Linux /proc. */
export function processGone(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** Resolves when `check` returns a value other than undefined; polls every 20 ms (the test timeout bounds it). */
export async function waitFor<T>(check: () => T | undefined): Promise<T> {
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

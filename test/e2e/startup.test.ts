// Start-up of the built binary (dist/cli.js): `~` in path settings, errors that name the setting at
// fault, and the workspace root a server started in the home folder takes (none).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIStandin, type OpenAIStandin } from '../support/openai-standin.js';
import { plan, workflowResponder } from '../support/responders.js';
import { CLI, spawnServer, withTimeout, type RawServer } from '../support/spawn.js';

let standin: OpenAIStandin;
/** A fake home folder, also the working folder of the server unless a test says otherwise. */
let home: string;
let server: RawServer | null = null;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
  standin = await startOpenAIStandin();
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'planexec-e2e-home-')));
  standin.reset();
});
afterEach(async () => {
  if (server && server.child.exitCode === null) {
    server.child.stdin.end();
    await withTimeout(server.exited, 5_000, 'exit after stdin closed');
  }
  server = null;
  rmSync(home, { recursive: true, force: true });
});

function start(env: Record<string, string>, opts: { cwd?: string; args?: string[] } = {}): RawServer {
  server = spawnServer(
    { PATH: process.env.PATH ?? '', HOME: home, OPENAI_API_KEY: 'test-key', OPENAI_BASE_URL: standin.baseURL, PLANEXEC_DB: join(home, 'state.db'), ...env },
    { cwd: home, ...opts },
  );
  return server;
}

/** The exit code and stderr of a server that must stop at start-up; nothing may reach stdout. */
async function startupFailure(env: Record<string, string>, opts: { cwd?: string; args?: string[] } = {}): Promise<{ code: number | null; stderr: string }> {
  const p = start(env, opts);
  const code = await withTimeout(p.exited, 10_000, 'exit at start-up');
  expect(p.lines).toEqual([]);
  return { code, stderr: p.stderr() };
}

describe('start-up errors name the setting at fault', () => {
  it('exits 2 naming PLANEXEC_ROOT when the root does not exist, not blaming the database', async () => {
    const { code, stderr } = await startupFailure({ PLANEXEC_ROOT: '~/code/app' });
    expect(code).toBe(2);
    expect(stderr).toContain(`PLANEXEC_ROOT ${join(home, 'code', 'app')}: no such folder.`);
    expect(stderr).not.toMatch(/database/i);
  });

  it('exits 2 naming --root when the flag names a file', async () => {
    writeFileSync(join(home, 'notes.txt'), 'x');
    const { code, stderr } = await startupFailure({}, { args: ['--root', 'notes.txt'] });
    expect(code).toBe(2);
    expect(stderr).toContain(`--root ${join(home, 'notes.txt')}: not a folder.`);
  });

  it('exits 2 naming PLANEXEC_DB when the database folder cannot be created', async () => {
    writeFileSync(join(home, 'blocker'), 'a file where a folder should be');
    const { code, stderr } = await startupFailure({ PLANEXEC_DB: '~/blocker/state.db' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^planexec: PLANEXEC_DB .*blocker\/state\.db: its folder .* cannot be created or written/m);
  });

  it('exits 2 naming PLANEXEC_CONFIG when the config file is not JSON', async () => {
    writeFileSync(join(home, 'planexec.json'), '{ "plannerModel": ');
    const { code, stderr } = await startupFailure({ PLANEXEC_CONFIG: '~/planexec.json' });
    expect(code).toBe(2);
    expect(stderr).toContain(`PLANEXEC_CONFIG ${join(home, 'planexec.json')}: the config file is not valid JSON`);
  });
});

describe('~ in path settings', () => {
  it('expands PLANEXEC_DB and PLANEXEC_ROOT from HOME instead of making a folder named ~', async () => {
    mkdirSync(join(home, 'code', 'app', 'src'), { recursive: true });
    writeFileSync(join(home, 'code', 'app', 'src', 'a.ts'), 'export const A = "TILDE-ROOT-FILE";\n');
    const work = mkdtempSync(join(home, 'cwd-'));
    standin.setResponder(workflowResponder(plan([{ id: 's1' }])));
    const p = start({ PLANEXEC_ROOT: '~/code/app', PLANEXEC_DB: '~/.local/state/planexec/state.db' }, { cwd: work });
    await p.initialize();
    const planned = await p.call('plan_task', { request: 'Read it.', files: ['src/a.ts'] });
    expect(planned.isError).toBeFalsy();
    expect(standin.requests[0]!.inputText).toContain('TILDE-ROOT-FILE');
    expect(existsSync(join(home, '.local', 'state', 'planexec', 'state.db'))).toBe(true);
    expect(readdirSync(work)).toEqual([]);
  });
});

describe('a server started in the home folder', () => {
  it('takes no workspace root: a plan naming .ssh/id_ed25519 and a file of the home folder sends neither', async () => {
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----\nSSH-KEY-MARKER-91c2\n');
    writeFileSync(join(home, 'notes.txt'), 'HOME-NOTES-MARKER-5e7a\n');
    standin.setResponder(workflowResponder(plan([{ id: 's1', relevant_files: ['.ssh/id_ed25519', 'notes.txt'] }])));
    const p = start({ PLANEXEC_LOG_LEVEL: 'info' });
    await p.initialize();

    const withFiles = await p.call('plan_task', { request: 'Read my notes.', files: ['notes.txt'] });
    expect(withFiles.isError).toBe(true);
    expect(withFiles.content[0].text).toContain('PLANEXEC_ROOT');

    const planned = await p.call('plan_task', { request: 'Read my notes.' });
    expect(planned.isError).toBeFalsy();
    const executed = await p.call('execute_subtask', { workflow_id: planned.structuredContent.workflow_id, subtask_id: 's1' });
    expect(executed.isError).toBeFalsy();
    expect(executed.structuredContent.context.files.map((f: { path: string }) => f.path).sort()).toEqual(['.ssh/id_ed25519', 'notes.txt']);
    expect(standin.requests.filter((r) => r.schemaName === null)).toHaveLength(1);

    const sent = JSON.stringify(standin.requests.map((r) => r.body));
    expect(sent).not.toContain('SSH-KEY-MARKER-91c2');
    expect(sent).not.toContain('HOME-NOTES-MARKER-5e7a');
    expect(p.stderr()).toContain('no workspace root');
  });

  it('takes an explicit PLANEXEC_ROOT of the home folder, and warns about it at start-up', async () => {
    writeFileSync(join(home, 'notes.txt'), 'HOME-NOTES-MARKER-5e7a\n');
    const p = start({ PLANEXEC_ROOT: home, PLANEXEC_LOG_LEVEL: 'info' });
    await p.initialize();
    const planned = await p.call('plan_task', { request: 'Read my notes.', files: ['notes.txt'] });
    expect(planned.isError).toBeFalsy();
    expect(standin.requests[0]!.inputText).toContain('HOME-NOTES-MARKER-5e7a');
    expect(p.stderr()).toMatch(/"level":40,.*PLANEXEC_ROOT is [^ ]+, your home folder: any file under it can be sent to the model/);
  });
});

describe('the check sandbox at start-up', () => {
  it('is named in the ready log, and as root a warning says checks run as root without capabilities', async () => {
    const p = start({ PLANEXEC_LOG_LEVEL: 'info' });
    await p.initialize();
    while (!p.stderr().includes('planexec ready')) {
      if (p.child.exitCode !== null) throw new Error(`the server exited: ${p.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(p.stderr()).toMatch(/"checkSandbox":"PID (and user )?namespace \(unshare [^"]*\), ended with the server \(setpriv --pdeathsig KILL\)"/);
    const warning = /"level":40,.*checks run as root without capabilities \(PID namespace \(unshare [^)]*; as root, every capability dropped by setpriv\)/;
    if (process.getuid!() === 0) expect(p.stderr()).toMatch(warning);
    else expect(p.stderr()).not.toMatch(/checks run as root/);
  });
});

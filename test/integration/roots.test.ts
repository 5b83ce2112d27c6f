// The session's workspace root from the client's MCP roots: a real SDK Client that declares the
// `roots` capability and answers roots/list, the real server, the real workspace reader, and the
// stand-in recording what reached the models.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ListRootsRequestSchema, type Root } from '@modelcontextprotocol/sdk/types.js';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness, type HarnessOptions } from '../support/harness.js';
import { plan, workflowResponder } from '../support/responders.js';

const MARKER = 'CLIENT-ROOT-FILE-7d41';
const PLAN = plan([{ id: 's1', relevant_files: ['src/app.ts'] }]);

let h: Harness | null = null;
let folders: string[] = [];
/** Lines the server logged (JSON). */
let logged: Array<{ msg: string; [key: string]: unknown }> = [];
/** How often the client was asked for its roots. */
let asked = 0;

/** A folder holding src/app.ts with `marker`; its real path. */
function project(marker = MARKER): string {
  const folder = realpathSync(mkdtempSync(join(tmpdir(), 'planexec-client-root-')));
  folders.push(folder);
  mkdirSync(join(folder, 'src'));
  writeFileSync(join(folder, 'src', 'app.ts'), `export const marker = '${marker}';\n`);
  return folder;
}

/** A harness whose client declares roots and answers roots/list with `roots()` (read at each request). */
async function withClientRoots(roots: () => Root[], opts: HarnessOptions = {}): Promise<Harness> {
  const log = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  h = await startHarness({
    // No PLANEXEC_ROOT: the configured root is the harness's working folder, which client roots override.
    env: { PLANEXEC_ROOT: '' },
    clientCapabilities: { capabilities: { roots: { listChanged: true } } },
    onClient: (client) =>
      client.setRequestHandler(ListRootsRequestSchema, () => {
        asked += 1;
        return { roots: roots() };
      }),
    log,
    standin: { responder: workflowResponder(PLAN) },
    ...opts,
  });
  return h;
}

const executorInputs = (x: Harness) => x.standin.requests.filter((r) => r.schemaName === null).map((r) => r.inputText);

beforeEach(() => {
  logged = [];
  asked = 0;
});
afterEach(async () => {
  await h?.close();
  h = null;
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  folders = [];
});

describe('MCP roots', () => {
  it("makes the client's first root the workflow's root: plan_task files and the executor's files are read from it", async () => {
    const folder = project();
    const x = await withClientRoots(() => [{ uri: pathToFileURL(folder).href, name: 'app' }]);
    const planned = await x.ok<{ workflow_id: string }>('plan_task', { request: 'Change the app.', files: ['src/app.ts'] });
    expect((await x.store.workflows.get(planned.workflow_id))!.root).toBe(folder);
    expect(x.standin.requests[0]!.inputText).toContain(MARKER);

    await x.ok('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's1' });
    expect(executorInputs(x).some((input) => input.includes(MARKER))).toBe(true);
    expect(asked).toBeGreaterThanOrEqual(1);
  });

  it('gives run_workflow the same root, so a whole run reads the client folder', async () => {
    const folder = project();
    const x = await withClientRoots(() => [{ uri: pathToFileURL(folder).href }]);
    const status = await x.ok<{ workflow_id: string; phase: string }>('run_workflow', { request: 'Change the app.' });
    expect(status.phase).toBe('completed');
    expect((await x.store.workflows.get(status.workflow_id))!.root).toBe(folder);
    expect(executorInputs(x).some((input) => input.includes(MARKER))).toBe(true);
  });

  it('ignores a root whose folder does not exist, with a log line naming it, and takes the next one', async () => {
    const folder = project();
    const missing = join(folder, 'no-such-folder');
    const x = await withClientRoots(() => [{ uri: pathToFileURL(missing).href }, { uri: 'file://build-server/repo' }, { uri: pathToFileURL(folder).href }]);
    const planned = await x.ok<{ workflow_id: string }>('plan_task', { request: 'Change the app.' });
    expect((await x.store.workflows.get(planned.workflow_id))!.root).toBe(folder);
    const ignored = logged.filter((l) => /ignoring the client's MCP root/.test(l.msg));
    expect(ignored.map((l) => l.uri)).toEqual([pathToFileURL(missing).href, 'file://build-server/repo']);
    expect(ignored[0]!.msg).toContain('no such folder');
  });

  it('falls back to the configured root when no client root is usable (a file, a missing folder)', async () => {
    const folder = project();
    const x = await withClientRoots(() => [{ uri: pathToFileURL(join(folder, 'src', 'app.ts')).href }, { uri: pathToFileURL(join(folder, 'gone')).href }]);
    const planned = await x.ok<{ workflow_id: string }>('plan_task', { request: 'Change the app.' });
    expect(x.config.root).not.toBeNull();
    expect((await x.store.workflows.get(planned.workflow_id))!.root).toBe(x.config.root);
    expect(logged.some((l) => /not a folder/.test(l.msg))).toBe(true);
  });

  it('asks again on roots/list_changed: workflows planned after it use the new root, earlier ones keep theirs', async () => {
    const first = project('FIRST-ROOT');
    const second = project('SECOND-ROOT');
    let current = first;
    const x = await withClientRoots(() => [{ uri: pathToFileURL(current).href }]);
    const before = await x.ok<{ workflow_id: string }>('plan_task', { request: 'One.', files: ['src/app.ts'] });
    current = second;
    await x.client.sendRootsListChanged();
    const after = await x.ok<{ workflow_id: string }>('plan_task', { request: 'Two.', files: ['src/app.ts'] });
    expect((await x.store.workflows.get(before.workflow_id))!.root).toBe(first);
    expect((await x.store.workflows.get(after.workflow_id))!.root).toBe(second);
    expect(x.standin.requests.at(-1)!.inputText).toContain('SECOND-ROOT');
    expect(asked).toBe(2);
  });

  it('does not ask the client when PLANEXEC_ROOT is set: the configured root wins', async () => {
    const folder = project();
    const x = await withClientRoots(() => [{ uri: pathToFileURL(folder).href }], { env: {} });
    const planned = await x.ok<{ workflow_id: string }>('plan_task', { request: 'Change the app.' });
    expect(x.config.sources.root).toBe('PLANEXEC_ROOT');
    expect((await x.store.workflows.get(planned.workflow_id))!.root).toBe(x.root);
    expect(asked).toBe(0);
    expect(logged.some((l) => /PLANEXEC_ROOT is used instead/.test(l.msg))).toBe(true);
  });

  it('uses the configured root for a client without the roots capability', async () => {
    h = await startHarness({ env: { PLANEXEC_ROOT: '' }, standin: { responder: workflowResponder(PLAN) } });
    const planned = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Change the app.' });
    expect((await h.store.workflows.get(planned.workflow_id))!.root).toBe(h.config.root);
  });

  it('answers plan_task with files with an error naming PLANEXEC_ROOT when there is no root at all, and plans without files', async () => {
    // The working folder is the (fake) home folder: never an implied root.
    const home = realpathSync(mkdtempSync(join(tmpdir(), 'planexec-home-')));
    folders.push(home);
    h = await startHarness({ env: { PLANEXEC_ROOT: '', HOME: home }, cwd: home, standin: { responder: workflowResponder(PLAN) } });
    expect(h.config.root).toBeNull();
    const refused = await h.call('plan_task', { request: 'Change the app.', files: ['src/app.ts'] });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('PLANEXEC_ROOT');
    const planned = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Change the app.' });
    expect((await h.store.workflows.get(planned.workflow_id))!.root).toBeNull();
  });
});

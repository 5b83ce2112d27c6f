// PLANEXEC_ALLOW_SECRET_FILES and PLANEXEC_ALLOW_HARDLINKS reach the workspace reader of the server:
// what the executor model is sent, read from the stand-in's recorded requests.
import { linkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { plan, workflowResponder } from '../support/responders.js';

const PLAN = plan([{ id: 's1', relevant_files: ['.env', 'shared.txt'] }]);

let h: Harness;
afterEach(async () => {
  await h.close();
});

/** Runs s1 in a workspace holding a .env and a file with a second hard link; the executor's input. */
async function executorInput(env: Record<string, string>): Promise<string> {
  h = await startHarness({ env, standin: { responder: workflowResponder(PLAN) } });
  h.writeFile('.env', 'DOTENV-MARKER=1\n');
  h.writeFile('shared.txt', 'HARDLINK-MARKER\n');
  linkSync(join(h.root, 'shared.txt'), join(h.dir, 'outside-link.txt'));
  const { workflow_id } = await h.ok<{ workflow_id: string }>('plan_task', { request: 'Use the settings.' });
  await h.ok('execute_subtask', { workflow_id, subtask_id: 's1' });
  const executor = h.standin.requests.filter((r) => r.schemaName === null);
  expect(executor).toHaveLength(1);
  return executor[0]!.inputText;
}

describe('workspace reader settings', () => {
  it('withholds files that hold secrets by convention and hard-linked files by default', async () => {
    const input = await executorInput({});
    expect(input).not.toContain('DOTENV-MARKER');
    expect(input).not.toContain('HARDLINK-MARKER');
  });

  it('sends them when PLANEXEC_ALLOW_SECRET_FILES and PLANEXEC_ALLOW_HARDLINKS are on', async () => {
    const input = await executorInput({ PLANEXEC_ALLOW_SECRET_FILES: 'on', PLANEXEC_ALLOW_HARDLINKS: 'true' });
    expect(input).toContain('DOTENV-MARKER');
    expect(input).toContain('HARDLINK-MARKER');
  });

  it('keeps each setting to its own kind of file', async () => {
    const input = await executorInput({ PLANEXEC_ALLOW_SECRET_FILES: '1' });
    expect(input).toContain('DOTENV-MARKER');
    expect(input).not.toContain('HARDLINK-MARKER');
  });
});

// Paths that name one file in different spellings reach the models once: a plan's relevant_files
// are stored normalised, plan_task's files are read once, and the executor sees each file once.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { plan, workflowResponder } from '../support/responders.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

const SPELLINGS = ['./src/util.ts', 'src//util.ts', 'src/util.ts', 'src/./util.ts'];
const MARK = 'export const UNIQUE_MARK = 42;';
const count = (text: string, part: string) => text.split(part).length - 1;

describe('one file, many spellings', () => {
  it('the plan stores relevant_files normalised, and the executor request carries the file once', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(plan([{ id: 's1', relevant_files: SPELLINGS }])) } });
    h.writeFile('src/util.ts', MARK);
    const planned = await h.ok<any>('plan_task', { request: 'Use util.' });
    expect(planned.subtasks[0].relevant_files).toEqual(['src/util.ts']);
    expect((await h.store.workflows.listSubtasks(planned.workflow_id))[0]!.relevant_files).toEqual(['src/util.ts']);
    const run = await h.ok<any>('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's1' });
    const executor = h.standin.requests.filter((r) => r.schemaName === null);
    expect(executor).toHaveLength(1);
    expect(count(executor[0]!.inputText, MARK)).toBe(1);
    expect(run.context.files.map((f: any) => f.path)).toEqual(['src/util.ts']);
  });

  it('plan_task reads a file named in several spellings once', async () => {
    h = await startHarness({ standin: { responder: workflowResponder(plan([{ id: 's1' }])) } });
    h.writeFile('src/util.ts', MARK);
    await h.ok('plan_task', { request: 'Use util.', files: SPELLINGS });
    const planner = h.standin.requests.filter((r) => r.schemaName === 'plan');
    expect(count(planner[0]!.inputText, MARK)).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import type { SubtaskStatus } from '../../src/core/types.js';
import { PlanexecError } from '../../src/core/errors.js';
import { derivePhase, findSubtask, nextStep } from '../../src/core/workflow.js';
import { subtask, workflow } from './builders.js';

const withStatuses = (...statuses: SubtaskStatus[]) => statuses.map((status, i) => subtask(`s${i + 1}`, status));

describe('derivePhase', () => {
  it('derivePhase is completed when every subtask is approved', async () => {
    expect(derivePhase(withStatuses('approved'))).toBe('completed');
    expect(derivePhase(withStatuses('approved', 'approved', 'approved'))).toBe('completed');
  });

  it('derivePhase is needs_human as soon as one subtask needs a human, whatever the others are', async () => {
    for (const other of ['pending', 'running', 'completed', 'approved', 'failed', 'needs_human'] as const) {
      expect(derivePhase(withStatuses(other, 'needs_human')), other).toBe('needs_human');
    }
  });

  it('derivePhase is executing while any subtask is pending, running or failed', async () => {
    for (const open of ['pending', 'running', 'failed'] as const) {
      expect(derivePhase(withStatuses(open)), open).toBe('executing');
      expect(derivePhase(withStatuses('approved', 'completed', open)), open).toBe('executing');
    }
  });

  it('derivePhase is reviewing when every subtask is completed or approved and at least one is unreviewed', async () => {
    expect(derivePhase(withStatuses('completed'))).toBe('reviewing');
    expect(derivePhase(withStatuses('approved', 'completed', 'approved'))).toBe('reviewing');
  });

  it('derivePhase of an empty subtask list is completed (vacuously every subtask is approved)', async () => {
    expect(derivePhase([])).toBe('completed');
  });
});

describe('nextStep', () => {
  const wf = workflow({ id: 'wf-9' });

  it('nextStep points at execute_subtask with the first ready subtask', async () => {
    const subtasks = [subtask('s1', 'completed'), subtask('s2', 'pending', { depends_on: ['s1'] }), subtask('s3', 'pending', { depends_on: ['s4'] }), subtask('s4', 'running')];
    expect(nextStep(wf, subtasks)).toBe('Call execute_subtask {"workflow_id":"wf-9","subtask_id":"s2"}.');
  });

  it('nextStep names every ready subtask when more than one is ready', async () => {
    const subtasks = [subtask('s1', 'approved'), subtask('s2', 'pending'), subtask('s3', 'pending', { depends_on: ['s1'] })];
    expect(nextStep(wf, subtasks)).toBe('Call execute_subtask {"workflow_id":"wf-9","subtask_id":"s2"} (2 ready: s2, s3).');
  });

  it('nextStep says to wait when the only unfinished work is running', async () => {
    const subtasks = [subtask('s1', 'running'), subtask('s2', 'pending', { depends_on: ['s1'] }), subtask('s3', 'running')];
    expect(nextStep(wf, subtasks)).toBe('Wait for s1, s3 to finish; check workflow_status {"workflow_id":"wf-9"}.');
  });

  it('nextStep asks for review_results when all subtasks are completed', async () => {
    const subtasks = [subtask('s1', 'completed'), subtask('s2', 'approved'), subtask('s3', 'completed')];
    expect(nextStep(workflow({ id: 'wf-9', phase: 'reviewing' }), subtasks)).toBe('Call review_results {"workflow_id":"wf-9"} to review s1, s3.');
  });

  it('nextStep asks a human about the subtask that needs a decision, before anything that is ready', async () => {
    const subtasks = [subtask('s1', 'pending'), subtask('s2', 'needs_human'), subtask('s3', 'needs_human')];
    expect(nextStep(workflow({ id: 'wf-9', phase: 'needs_human' }), subtasks)).toBe(
      'A human decision is needed on s2, s3: read the planner\'s question with workflow_status {"workflow_id":"wf-9","subtask_id":"s2"}, then answer with review_results {"workflow_id":"wf-9","decisions":[{"subtask_id":"s2","verdict":"approve | revise | cancel","feedback":"..."}]}.',
    );
  });

  it('nextStep offers a retry of a failed subtask when nothing else can move', async () => {
    const subtasks = [subtask('s1', 'approved'), subtask('s2', 'failed'), subtask('s3', 'pending', { depends_on: ['s2'] })];
    expect(nextStep(wf, subtasks)).toBe('Subtasks s2 failed; retry one with execute_subtask {"workflow_id":"wf-9","subtask_id":"s2"}.');
  });

  it('nextStep says there is nothing left to do in a completed workflow and shows how to read an output', async () => {
    const subtasks = [subtask('a1', 'approved'), subtask('a2', 'approved')];
    expect(nextStep(workflow({ id: 'wf-9', phase: 'completed' }), subtasks)).toBe(
      'Nothing left to do: every subtask is approved. Read an output in full with workflow_status {"workflow_id":"wf-9","subtask_id":"a1"}.',
    );
  });

  it('nextStep in the planning phase says to check back, whatever the subtasks are', async () => {
    expect(nextStep(workflow({ id: 'wf-9', phase: 'planning' }), [subtask('s1', 'pending')])).toBe(
      'The plan is being made; check workflow_status {"workflow_id":"wf-9"} again shortly.',
    );
  });

  it('nextStep for cancelled and failed workflows says so', async () => {
    expect(nextStep(workflow({ phase: 'cancelled' }), [subtask('s1', 'pending')])).toBe(
      'The workflow was cancelled; completed work is kept. Resume it with run_workflow {"workflow_id":"wf-1"}.',
    );
    expect(nextStep(workflow({ phase: 'failed' }), [subtask('s1', 'pending')])).toBe(
      'The workflow stopped on an error (last_error); completed work is kept. Fix the cause, then resume with run_workflow {"workflow_id":"wf-1"}.',
    );
  });

  it('nextStep falls back to workflow_status when nothing is ready, running, completed or failed', async () => {
    const subtasks = [subtask('s1', 'approved'), subtask('s2', 'pending', { depends_on: ['ghost'] })];
    expect(nextStep(wf, subtasks)).toBe('Check workflow_status {"workflow_id":"wf-9"}.');
  });
});

describe('findSubtask', () => {
  it('findSubtask returns the subtask with the given id', async () => {
    const subtasks = [subtask('s1'), subtask('s2', 'completed')];
    expect(findSubtask(workflow(), subtasks, 's2')).toBe(subtasks[1]);
  });

  it('findSubtask throws not_found naming the workflow, the id and the known ids', async () => {
    let caught: unknown;
    try {
      findSubtask(workflow({ id: 'wf-9' }), [subtask('s1'), subtask('s2')], 's7');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PlanexecError);
    const e = caught as PlanexecError;
    expect([e.code, e.message, e.hint, e.details]).toEqual([
      'not_found',
      "Subtask in workflow wf-9 's7' does not exist.",
      'Known subtask ids: s1, s2.',
      { id: 's7' },
    ]);
  });
});

// Plain-data builders for the core's nouns, so each test spells out only what it is about.
import type { Plan } from '../../src/core/plan.js';
import type { ModelCall, Subtask, SubtaskStatus, Workflow } from '../../src/core/types.js';

export type PlanSubtask = Plan['subtasks'][number];

export function planned(id: string, depends_on: string[] = [], extra: Partial<PlanSubtask> = {}): PlanSubtask {
  return {
    id,
    title: `Title of ${id}`,
    description: `Description of ${id}`,
    depends_on,
    complexity: 'routine',
    output_format: 'a unified diff',
    relevant_files: [],
    writes: [],
    checks: [],
    ...extra,
  };
}

export function subtask(id: string, status: SubtaskStatus = 'pending', extra: Partial<Subtask> = {}): Subtask {
  return {
    workflowId: 'wf-1',
    id,
    position: 0,
    title: `Title of ${id}`,
    description: `Description of ${id}`,
    depends_on: [],
    complexity: 'routine',
    output_format: 'a unified diff',
    relevant_files: [],
    writes: [],
    checks: [],
    status,
    attempts: 1,
    role: 'executor',
    model: null,
    feedback: null,
    output: null,
    leaseOwner: null,
    claimedFrom: null,
    updatedAt: 0,
    ...extra,
  };
}

export function workflow(extra: Partial<Workflow> = {}): Workflow {
  return {
    id: 'wf-1',
    request: 'Add a login page\nwith email and password',
    goal: 'Add a login page',
    context: null,
    phase: 'executing',
    planVersion: 1,
    plannerResponseId: 'resp-plan',
    coordinationNotes: '',
    budget: {},
    lockOwner: null,
    lastError: null,
    plannerSummary: null,
    files: [],
    plannerThread: 0,
    root: '/workspace',
    requester: null,
    createdAt: 0,
    updatedAt: 0,
    ...extra,
  };
}

let nextCallId = 1;

export function modelCall(extra: Partial<ModelCall> = {}): ModelCall {
  return {
    id: nextCallId++,
    workflowId: 'wf-1',
    subtaskId: null,
    role: 'planner',
    purpose: 'plan',
    model: 'gpt-5.4',
    provider: 'responses',
    status: 'completed',
    owner: 'test',
    responseId: 'resp',
    usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0 },
    usageEstimated: false,
    requestBytes: null,
    error: null,
    reservedTokens: null,
    startedAt: 0,
    endedAt: 1,
    ...extra,
  };
}

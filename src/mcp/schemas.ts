// zod pieces shared by the tools' input and output schemas.
import { z } from 'zod';
import { PHASES, SUBTASK_STATUSES } from '../core/types.js';

export const WorkflowId = z.string().trim().min(1, 'workflow_id must not be empty').max(64, 'workflow_id is too long; copy it from plan_task or workflow_status');
export const SubtaskId = z.string().trim().min(1, 'subtask_id must not be empty').max(64, 'subtask_id is too long; copy it from the plan');

export const Phase = z.enum(PHASES);
export const SubtaskStatus = z.enum(SUBTASK_STATUSES);
export const Role = z.enum(['planner', 'executor']);
export const Verdict = z.enum(['approve', 'revise', 'escalate']);

export const CallUsage = z
  .object({
    calls: z.number().int(),
    input_tokens: z.number().int(),
    cached_tokens: z.number().int(),
    output_tokens: z.number().int(),
  })
  .describe('Model calls made by this tool call and their tokens, as the provider reported them.');

export const RoleUsage = CallUsage.extend({
  failed_calls: z.number().int(),
  abandoned_calls: z.number().int(),
  estimated_calls: z.number().int().describe('Calls billed without a usage report: their tokens are estimated.'),
});

export const Cost = z.object({
  quota_units: z.number().nullable().describe('Planner-model call = 1.0, executor-model call = 0.3 (per-model table); null if a model is not in the table.'),
  baseline_quota_units: z.number().nullable().describe('The same calls, all on the planner model.'),
  savings_pct: z.number().nullable().describe('Quota saved against the baseline, in %.'),
  usd: z.number().nullable().describe('From the per-model price table; null if a model is not in it.'),
  baseline_usd: z.number().nullable(),
  usd_savings_pct: z.number().nullable(),
  unpriced_models: z.array(z.string()).describe('Models missing from the price table: their calls are not in quota_units or usd.'),
});

export const TokenBudget = z.strictObject({
  planner_tokens: z.number().int().positive().optional().describe('Token budget of the planner role for this workflow.'),
  executor_tokens: z.number().int().positive().optional().describe('Token budget of the executor role for this workflow.'),
});

export const PlannedSubtask = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  depends_on: z.array(z.string()),
  complexity: z.enum(['routine', 'complex']),
  role: Role,
  output_format: z.string(),
  relevant_files: z.array(z.string()),
  status: SubtaskStatus,
});

export const SubtaskState = z.object({
  id: z.string(),
  title: z.string(),
  status: SubtaskStatus,
  role: Role,
  model: z.string().nullable(),
  attempts: z.number().int().describe('The current attempt: 1 for the first try, +1 each time review sends it back.'),
  depends_on: z.array(z.string()),
  runs: z.array(z.object({ attempt: z.number().int(), role: Role, model: z.string() })).describe('Every execution so far and the rung (role, model) it ran on.'),
});

export const FileReport = z.object({
  path: z.string(),
  bytes: z.number().int(),
  sent_bytes: z.number().int(),
  range: z.tuple([z.number().int(), z.number().int()]).describe('Byte range sent, [start, end).'),
  truncated: z.boolean(),
  missing: z.boolean(),
  sha256: z.string().nullable().describe('sha256 of the bytes sent.'),
  note: z.string().nullable().describe('Why the file was not shown in full or at all (binary, not a regular file).'),
});

export const ContextPacket = z.object({
  tokens: z.number().int().describe('Input tokens of the prompt the model saw, as the provider counted them.'),
  files: z.array(FileReport),
  dependencies: z.array(z.object({ subtask_id: z.string(), chars: z.number().int(), truncated: z.boolean() })),
  notes: z.string().nullable().describe("The host's notes for this execution, as shown to the model."),
});

export const PlanChanges = z.object({
  added: z.array(z.string()),
  removed: z.array(z.string()),
  changed: z.array(z.string()).describe('Same id, new description: starts over; earlier outputs stay in its history.'),
  kept: z.array(z.string()).describe('Same id and description: status and results carry over.'),
  drops_work: z.array(z.string()).describe('Removed or changed subtasks that had completed or approved work.'),
});

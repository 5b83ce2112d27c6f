// zod pieces shared by the tools' input and output schemas. Inputs are closed objects (an unknown
// field is an error that names it); outputs carry `.describe()` only where a name does not say
// enough, since every word here is sent in tools/list.
import { z } from 'zod';
import { closest } from '../core/text.js';
import { PHASES, SUBTASK_STATUSES } from '../core/types.js';

/**
 * A closed input object: a field it does not know is refused, named, with the closest known name
 * when one is near (`Unknown field "file" (did you mean "files"?)`), instead of being dropped.
 */
export function input<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknownFields(issue.keys, known) : undefined),
  });
}

/** The message for unknown fields: each named, with the closest known name, or else the list of known ones. */
export function unknownFields(keys: readonly string[], known: readonly string[]): string {
  return keys
    .map((key) => {
      const near = closest(key, known);
      return `Unknown field "${key}" (${near ? `did you mean "${near}"?` : `the fields are: ${known.join(', ')}`})`;
    })
    .join('; ');
}


/**
 * An output object whose shape tools/list spells out once elsewhere (`where`, e.g. "workflow_status
 * `changes`"): advertised as `{type: "object", description: "As in <where>."}`, typed as T, checked
 * to be an object. Each shape is written once in tools/list, which every host reads every session.
 */
export function sameAs<T extends object>(where: string) {
  return z.custom<T>((v) => typeof v === 'object' && v !== null && !Array.isArray(v)).meta({ type: 'object', description: `As in ${where}.` });
}

/**
 * A string field whose values tools/list spells out once elsewhere (an enum at `where`): advertised as
 * `{type: "string", description: "As in <where>."}`, checked against `values`.
 */
export function sameValuesAs<const V extends readonly string[]>(values: V, where: string) {
  return z.custom<V[number]>((v) => typeof v === 'string' && values.includes(v)).meta({ type: 'string', description: `As in ${where}.` });
}

/** An integer (its JSON Schema carries no ±(2^53 − 1) bounds: json-schema.ts drops them). */
export const Int = () => z.number().int();

/** A workflow id as tools take it: trimmed, 1-64 characters (ids are 'wf-' + 12 hex digits; the cap keeps a pasted blob out). */
export const WorkflowId = z.string().trim().min(1, 'workflow_id must not be empty').max(64, 'workflow_id is too long; copy it from plan_task or workflow_status');
/** A subtask id as tools take it: trimmed, 1-64 characters (plan ids are at most 40, src/core/plan.ts). */
export const SubtaskId = z.string().trim().min(1, 'subtask_id must not be empty').max(64, 'subtask_id is too long; copy it from the plan');

/** The workflow phases (src/core/types.ts PHASES). */
export const Phase = z.enum(PHASES);
/** The subtask statuses (src/core/types.ts SUBTASK_STATUSES). */
export const SubtaskStatus = z.enum(SUBTASK_STATUSES);
/** The two model slots (src/core/types.ts Role). */
export const Role = z.enum(['planner', 'executor']);
/** A planner review's verdict (src/core/types.ts Verdict). */
export const Verdict = z.enum(['approve', 'revise', 'escalate']);

/** Model calls made by one tool call and their tokens, as the provider reported them (or planexec's o200k estimate where it reported none). */
export const CallUsage = z.object({ calls: Int(), input_tokens: Int(), cached_tokens: Int(), output_tokens: Int() });

/** One role's calls and tokens in a workflow (src/core/cost.ts RoleUsage): `calls` completed, tokens of every call that billed any. */
export const RoleUsage = CallUsage.extend({ failed_calls: Int(), abandoned_calls: Int(), estimated_calls: Int() });

/** A workflow's (or the ledger's) cost against the planner model alone (src/core/cost.ts Cost: USD, quota units, % savings). */
export const Cost = z
  .object({
    quota_units: z.number().nullable(),
    baseline_quota_units: z.number().nullable(),
    savings_pct: z.number().nullable(),
    usd: z.number().nullable(),
    baseline_usd: z.number().nullable(),
    usd_savings_pct: z.number().nullable(),
    unpriced_models: z.array(z.string()),
    subscription_calls: Int(),
  })
  .describe('Planner call = 1 quota unit, executor call = 0.3; baseline: the same calls on the planner model and provider; unpriced_models: not in quota or usd; subscription_calls: not in usd.');

/** Calls and tokens per role, provider and model. */
export const ModelUsage = CallUsage.extend({ role: Role, provider: z.string(), model: z.string() });

/** Token budgets per role (input + output tokens; src/core/types.ts TokenBudget); absent: the configured default. */
export const TokenBudget = input({
  planner_tokens: z.number().int().positive().optional(),
  executor_tokens: z.number().int().positive().optional(),
});

/** A subtask as plan_task shows it (src/core/views.ts PlannedSubtaskView). */
export const PlannedSubtask = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  depends_on: z.array(z.string()),
  complexity: z.enum(['routine', 'complex']),
  role: Role,
  output_format: z.string(),
  relevant_files: z.array(z.string()),
  writes: z.array(z.string()),
  checks: z.array(z.string()),
  status: SubtaskStatus,
});

/** One execution of a subtask: its attempt and rung; for an editing attempt its commit and failed checks. */
export const RunState = z.object({
  attempt: Int(),
  role: Role,
  model: z.string(),
  commit: z.string().nullable().optional().describe('Editing attempts (null: none kept).'),
  failed_checks: z.array(z.string()).optional(),
});

/** A subtask as workflow_status `subtasks[]` shows it (src/core/views.ts SubtaskStatusView). */
export const SubtaskState = z.object({
  id: z.string(),
  title: z.string(),
  status: SubtaskStatus,
  role: Role,
  model: z.string().nullable(),
  attempts: Int(),
  depends_on: z.array(z.string()),
  runs: z.array(RunState),
  refused_checks: z.array(z.string()).optional().describe('Not allowed by PLANEXEC_ALLOWED_CHECKS; not run.'),
});

/** In a plan_task / run_workflow input: the changes mode (PRODUCT.md, "Changes"; default PLANEXEC_CHANGES). */
export const ChangesMode = z.enum(['worktree', 'off']);
/** Host checks a plan_task / run_workflow call adds to PLANEXEC_CHECKS: at most 20, each 1-2,000 characters, one command each (no shell). */
export const HostChecks = z
  .array(z.string().trim().min(1, 'a check must not be empty').max(2_000, 'a check is over 2,000 characters'))
  .max(20, 'checks lists more than 20 commands')
  .describe('Commands run in the worktree after every subtask that changed files (always allowed), e.g. "npm test".');

/** A path the branch changed, relative to the workspace root, with its line counts (src/core/types.ts ChangedFile). */
export const ChangedFile = z.object({ path: z.string(), status: z.enum(['added', 'modified', 'deleted']), insertions: Int(), deletions: Int() });

/** How one check ended (src/core/types.ts CheckResult): duration_ms in ms, output_tail the last ~4 KB of its output. */
export const CheckResult = z.object({
  command: z.string(),
  exit_code: Int().nullable(),
  timed_out: z.boolean(),
  duration_ms: Int(),
  passed: z.boolean(),
  output_tail: z.string(),
  source: z.enum(['host', 'subtask']).optional(),
});

/** A workflow's worktree and branch, or why it has none. */
export const WorkflowChangesOut = z.object({
  mode: ChangesMode,
  reason: z.string().nullable().describe('Why no worktree (mode off).'),
  branch: z.string().nullable(),
  worktree: z.string().nullable(),
  base: z.string().nullable(),
  head: z.string().nullable(),
  files: z.array(ChangedFile),
  merged: z.object({ commit: z.string(), mode: z.enum(['fast-forward', 'merge-commit']), branch: z.string().nullable(), at: z.string() }).nullable(),
  discarded: z.boolean(),
  base_checks: z.array(CheckResult).describe('Host checks on the base; a failing one is a goal.'),
  final_checks: z.array(sameAs<z.output<typeof CheckResult>>('`base_checks[]`')).nullable(),
});

/** What one editing attempt changed. */
export const AttemptChangesOut = z.object({
  commit: z.string().nullable(),
  rolled_back: z.boolean().describe('A check failed: the commit was undone.'),
  files: z.array(sameAs<z.output<typeof ChangedFile>>('workflow_status `changes.files[]`')),
  rejected: z.array(z.object({ path: z.string(), reason: z.string() })),
});

/** One file of an execution's context (src/core/context.ts FileReport): bytes of the file, sent_bytes sent. */
export const FileReport = z.object({
  path: z.string(),
  bytes: Int(),
  sent_bytes: Int(),
  range: z.array(Int()).describe('Bytes sent, [start, end).'),
  truncated: z.boolean(),
  missing: z.boolean(),
  sha256: z.string().nullable(),
  note: z.string().nullable(),
});

/** What one execution was shown (src/core/context.ts ContextPacket): `tokens` is the prompt's input tokens, dependency `chars` in characters. */
export const ContextPacket = z.object({
  tokens: Int(),
  files: z.array(FileReport),
  dependencies: z.array(z.object({ subtask_id: z.string(), chars: Int(), truncated: z.boolean() })),
  notes: z.string().nullable(),
});

/** What a plan version changed against the one before (src/core/types.ts PlanChanges): subtask ids. */
export const PlanChanges = z.object({
  added: z.array(z.string()),
  removed: z.array(z.string()),
  changed: z.array(z.string()),
  kept: z.array(z.string()),
  drops_work: z.array(z.string()).describe('Removed or changed subtasks with completed work.'),
});

type Shape<S extends z.ZodType> = z.output<S>;
/** workflow_status spells these out; other tools' outputs refer to them (sameAs). */
export const ChangesRef = sameAs<Shape<typeof WorkflowChangesOut>>('workflow_status `changes`');
/** A CheckResult in another tool's output, spelled out once at workflow_status `changes.base_checks[]`. */
export const CheckRef = sameAs<Shape<typeof CheckResult>>('workflow_status `changes.base_checks[]`');
/** The calls and tokens of one tool call (plan_task, execute_subtask, review_results `usage`). */
export const CallUsageRef = sameAs<Shape<typeof CallUsage>>('workflow_status `unattached_usage`');

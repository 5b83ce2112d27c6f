// The plan the planner answers with, its validation, and the dependency graph it describes.
import { z } from 'zod';
import type { PlannedSubtask, Subtask, SubtaskStatus } from './types.js';

export const MAX_SUBTASKS = 50;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;

// Structural only: the Responses API's strict mode accepts this subset. The semantic rules live in
// validatePlan, whose messages go back to the planner in the repair round.
export const PlanSubtaskSchema = z.object({
  id: z.string().describe('Short unique id, e.g. "s1".'),
  title: z.string().describe('A few words naming the subtask.'),
  description: z.string().describe('What to do, self-contained: the executor sees only this, the listed files and its dependencies\' outputs.'),
  depends_on: z.array(z.string()).describe('Ids of subtasks whose outputs this one needs.'),
  complexity: z.enum(['routine', 'complex']).describe('routine: narrow, well-specified work for the cheap executor model; complex: needs the planner model.'),
  output_format: z.string().describe('What the output should look like, e.g. "a unified diff" or "a markdown list".'),
  relevant_files: z.array(z.string()).describe('Workspace-relative paths the executor should read.'),
});

export const PlanSchema = z.object({
  subtasks: z.array(PlanSubtaskSchema),
  coordination_notes: z.string().describe('How the pieces fit together; for the planner\'s own later review.'),
});
export type Plan = z.infer<typeof PlanSchema>;

/** Problems with a plan, one sentence each, phrased so the planner can fix them. */
export function validatePlan(plan: Plan): string[] {
  const errors: string[] = [];
  const { subtasks } = plan;
  if (subtasks.length === 0) errors.push('The plan has no subtasks; give at least one.');
  if (subtasks.length > MAX_SUBTASKS) errors.push(`The plan has ${subtasks.length} subtasks; the limit is ${MAX_SUBTASKS}. Merge related work.`);

  const ids = new Set<string>();
  for (const [index, s] of subtasks.entries()) {
    const label = s.id ? `Subtask '${s.id}'` : `Subtask #${index + 1}`;
    if (!ID_PATTERN.test(s.id)) errors.push(`${label}: id must be 1-40 letters, digits, '_', '.' or '-', starting with a letter or digit.`);
    if (ids.has(s.id)) errors.push(`${label}: id is used more than once; ids must be unique.`);
    ids.add(s.id);
    if (!s.title.trim()) errors.push(`${label}: title is empty.`);
    if (!s.description.trim()) errors.push(`${label}: description is empty.`);
    for (const file of s.relevant_files) {
      const problem = relativePathProblem(file);
      if (problem) errors.push(`${label}: relevant file '${file}' ${problem}.`);
    }
  }
  for (const s of subtasks) {
    for (const dep of s.depends_on) {
      if (dep === s.id) errors.push(`Subtask '${s.id}' depends on itself.`);
      else if (!ids.has(dep)) errors.push(`Subtask '${s.id}' depends on unknown subtask '${dep}'.`);
    }
    if (new Set(s.depends_on).size !== s.depends_on.length) errors.push(`Subtask '${s.id}' lists a dependency twice.`);
  }
  const cycle = findCycle(subtasks);
  if (cycle) errors.push(`Dependencies form a cycle: ${cycle.join(' -> ')}. Remove one of these dependencies.`);
  return errors;
}

/** Why a workspace-relative path is not acceptable, or null when it is. */
export function relativePathProblem(path: string): string | null {
  if (!path.trim()) return 'is empty';
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(path)) return 'is absolute; use a path relative to the workspace root';
  if (path.split(/[\\/]/).includes('..')) return 'contains ".."; paths must stay inside the workspace root';
  return null;
}

/** One dependency cycle (first node repeated at the end), or null. Unknown ids are ignored. */
export function findCycle(subtasks: readonly Pick<PlannedSubtask, 'id' | 'depends_on'>[]): string[] | null {
  const deps = new Map(subtasks.map((s) => [s.id, s.depends_on]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep) || dep === id) continue;
      const seen = state.get(dep);
      if (seen === 'visiting') return [...stack.slice(stack.indexOf(dep)), dep];
      if (seen === undefined) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const s of subtasks) {
    if (state.has(s.id)) continue;
    const found = visit(s.id);
    if (found) return found;
  }
  return null;
}

const DONE: ReadonlySet<SubtaskStatus> = new Set(['completed', 'approved']);

export function isDone(status: SubtaskStatus): boolean {
  return DONE.has(status);
}

/** Dependencies of `subtask` that are not completed yet, in the order the plan lists them. */
export function missingDependencies(subtask: Pick<Subtask, 'depends_on'>, all: readonly Subtask[]): string[] {
  const status = new Map(all.map((s) => [s.id, s.status]));
  return subtask.depends_on.filter((dep) => !isDone(status.get(dep) ?? 'pending'));
}

/** Pending subtasks whose dependencies are all completed, in plan order. */
export function readySubtasks(all: readonly Subtask[]): Subtask[] {
  return all.filter((s) => s.status === 'pending' && missingDependencies(s, all).length === 0);
}

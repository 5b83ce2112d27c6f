// The plan the planner answers with, its validation, and the dependency graph it describes.
import { z } from 'zod';
import type { PlannedSubtask, Subtask, SubtaskStatus } from './types.js';
import { isGitFolderName } from './git-paths.js';

/** Subtasks one plan may hold (PRODUCT.md: 1 to 50; the planner's instructions say the same). */
export const MAX_SUBTASKS = 50;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;

/**
 * What a plan may hold, in characters (UTF-16 code units, as JavaScript counts them). Chosen so a
 * subtask stays a self-contained instruction (detail belongs in the files it names) and a plan of
 * 50 subtasks stays a few tens of thousands of tokens, which every review resends in the thread;
 * tool results are bounded separately (src/mcp/bound.ts). Ids: 1-40 characters (ID_PATTERN).
 */
export const PLAN_LIMITS = {
  title: 120,
  description: 2_000,
  output_format: 300,
  coordination_notes: 4_000,
  /** Paths per subtask. */
  relevant_files: 20,
  /** Characters of one path (or one check command). */
  path: 300,
  /** Checks per subtask. */
  checks: 5,
} as const;

// Structural only: the Responses API's strict mode accepts this subset (no maxLength), so the limits
// are stated in the descriptions. The semantic rules live in validatePlan, whose messages go back
// to the planner in the repair round.
export const PlanSubtaskSchema = z.object({
  id: z.string().describe('Short unique id, e.g. "s1".'),
  title: z.string().describe(`A few words naming the subtask (at most ${PLAN_LIMITS.title} characters).`),
  description: z
    .string()
    .describe(`What to do, self-contained: the executor sees only this, the listed files and its dependencies' outputs (at most ${PLAN_LIMITS.description.toLocaleString('en-US')} characters).`),
  depends_on: z.array(z.string()).describe('Ids of subtasks whose outputs this one needs.'),
  complexity: z.enum(['routine', 'complex']).describe('routine: narrow, well-specified work for the cheap executor model; complex: needs the planner model.'),
  output_format: z.string().describe(`What the output should look like, e.g. "a unified diff" or "a markdown list" (at most ${PLAN_LIMITS.output_format} characters).`),
  relevant_files: z
    .array(z.string())
    .describe(`Workspace-relative paths the executor should read (at most ${PLAN_LIMITS.relevant_files}, each at most ${PLAN_LIMITS.path} characters).`),
  // Missing in an answer (an older stored plan, a fixture) means none: the wire schema still requires them.
  writes: z
    .array(z.string())
    .default([])
    .describe(`Workspace-relative paths this subtask may create, change or delete (at most ${PLAN_LIMITS.relevant_files}); empty for a subtask that only answers in text.`),
  checks: z
    .array(z.string())
    .default([])
    .describe('Commands that verify this subtask (e.g. "npm test"), one command each; they run only where the user allows them.'),
});

/** The plan the planner answers with (sent as a strict JSON schema; the rules in validatePlan). */
export const PlanSchema = z.object({
  subtasks: z.array(PlanSubtaskSchema),
  coordination_notes: z.string().describe(`How the pieces fit together; for the planner's own later review (at most ${PLAN_LIMITS.coordination_notes.toLocaleString('en-US')} characters).`),
});
/** A plan as parsed from the planner's answer. */
export type Plan = z.infer<typeof PlanSchema>;

/** A model-written value quoted in a problem: short, so a 20 MB field does not travel back whole. */
export function quoted(value: string, max = 60): string {
  return value.length <= max ? `'${value}'` : `'${value.slice(0, max)}…' (${value.length.toLocaleString('en-US')} characters)`;
}

/** "is 130 characters; the limit is 120" when `value` is over `limit`, else null. */
function tooLong(value: string, limit: number): string | null {
  if (value.length <= limit) return null;
  const n = (x: number) => x.toLocaleString('en-US');
  return `is ${n(value.length)} characters; the limit is ${n(limit)}`;
}

/** The path names the workspace root itself ("./", "."). */
function namesRoot(path: string): boolean {
  return path.split(/[\\/]/).every((segment) => segment === '' || segment === '.');
}

/** Problems with a plan, one sentence each, phrased so the planner can fix them. */
export function validatePlan(plan: Plan): string[] {
  const errors: string[] = [];
  const { subtasks } = plan;
  if (subtasks.length === 0) errors.push('The plan has no subtasks; give at least one.');
  if (subtasks.length > MAX_SUBTASKS) errors.push(`The plan has ${subtasks.length} subtasks; the limit is ${MAX_SUBTASKS}. Merge related work.`);
  const notes = tooLong(plan.coordination_notes, PLAN_LIMITS.coordination_notes);
  if (notes) errors.push(`The plan's coordination_notes ${notes}. Keep only what the later review needs.`);

  const ids = new Set<string>();
  for (const [index, s] of subtasks.entries()) {
    const label = s.id ? `Subtask ${quoted(s.id)}` : `Subtask #${index + 1}`;
    if (!ID_PATTERN.test(s.id)) errors.push(`${label}: id must be 1-40 letters, digits, '_', '.' or '-', starting with a letter or digit.`);
    if (ids.has(s.id)) errors.push(`${label}: id is used more than once; ids must be unique.`);
    ids.add(s.id);
    if (!s.title.trim()) errors.push(`${label}: title is empty.`);
    if (!s.description.trim()) errors.push(`${label}: description is empty.`);
    for (const field of ['title', 'description', 'output_format'] as const) {
      const problem = tooLong(s[field], PLAN_LIMITS[field]);
      if (problem) errors.push(`${label}: ${field} ${problem}. Say it more briefly; put detail in the files it names, or split the subtask.`);
    }
    if (s.relevant_files.length > PLAN_LIMITS.relevant_files) {
      errors.push(`${label}: relevant_files lists ${s.relevant_files.length} paths; the limit is ${PLAN_LIMITS.relevant_files}. Name only the files this subtask must read.`);
    }
    for (const file of s.relevant_files.slice(0, PLAN_LIMITS.relevant_files + 1)) {
      const problem = relativePathProblem(file) ?? (namesRoot(file) ? 'names the workspace root, not a file' : tooLong(file, PLAN_LIMITS.path));
      if (problem) errors.push(`${label}: relevant file ${quoted(file)} ${problem}.`);
    }
    if (s.writes.length > PLAN_LIMITS.relevant_files) {
      errors.push(`${label}: writes lists ${s.writes.length} paths; the limit is ${PLAN_LIMITS.relevant_files}. Split the subtask.`);
    }
    for (const file of s.writes.slice(0, PLAN_LIMITS.relevant_files + 1)) {
      const problem =
        relativePathProblem(file) ?? (namesRoot(file) ? 'names the workspace root, not a file' : insideGit(file) ? 'is inside .git (or a name git reads as .git)' : tooLong(file, PLAN_LIMITS.path));
      if (problem) errors.push(`${label}: write path ${quoted(file)} ${problem}.`);
    }
    if (s.checks.length > PLAN_LIMITS.checks) errors.push(`${label}: checks lists ${s.checks.length} commands; the limit is ${PLAN_LIMITS.checks}.`);
    for (const check of s.checks.slice(0, PLAN_LIMITS.checks + 1)) {
      const problem = !check.trim() ? 'is empty' : tooLong(check, PLAN_LIMITS.path);
      if (problem) errors.push(`${label}: check ${quoted(check)} ${problem}; give one command.`);
    }
  }
  for (const s of subtasks) {
    for (const dep of s.depends_on) {
      if (dep === s.id) errors.push(`Subtask ${quoted(s.id)} depends on itself.`);
      else if (!ids.has(dep)) errors.push(`Subtask ${quoted(s.id)} depends on unknown subtask ${quoted(dep)}.`);
    }
    if (new Set(s.depends_on).size !== s.depends_on.length) errors.push(`Subtask ${quoted(s.id)} lists a dependency twice.`);
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

/**
 * The normal form of a workspace-relative path, so that one file has one name: '/' as separator
 * ('\\' too, as relativePathProblem reads it), no '.' or empty segments, no trailing '/'
 * ("./src//util.ts" -> "src/util.ts"). A path relativePathProblem refuses (with "..", absolute) is
 * returned as it is, for the reader to refuse by its own name; so is one that names the root ("./").
 */
export function normalizeRelativePath(path: string): string {
  if (relativePathProblem(path)) return path;
  const normal = path
    .split(/[\\/]/)
    .filter((segment) => segment !== '' && segment !== '.')
    .join('/');
  return normal === '' ? path : normal;
}

/** The plan with every subtask's relevant_files and writes normalised and without repeats (first spelling's place kept), checks trimmed. */
export function normalizePlan(plan: Plan): Plan {
  const normal = (paths: readonly string[]) => [...new Set(paths.map(normalizeRelativePath))];
  return { ...plan, subtasks: plan.subtasks.map((s) => ({ ...s, relevant_files: normal(s.relevant_files), writes: normal(s.writes), checks: [...new Set(s.checks.map((c) => c.trim()))] })) };
}

/** A path inside the repository's .git folder (any segment git reads as .git: isGitFolderName). */
function insideGit(path: string): boolean {
  return path.split(/[\\/]/).some(isGitFolderName);
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

/** Completed or approved: the states whose output dependents may use. */
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

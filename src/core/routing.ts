// Which model slot runs a subtask: the escalation ladder. Attempt n of a routine subtask runs on
// rung n (default: executor, executor, planner); complex subtasks run on the planner model from the
// start. Past the last rung a human decides.
import type { Complexity, Role } from './types.js';

/** The default escalation ladder (PLANEXEC_LADDER overrides it): two attempts on the executor model, then one on the planner model. */
export const DEFAULT_LADDER: readonly Role[] = ['executor', 'executor', 'planner'];

/** The role for this attempt, or null when the ladder is exhausted (the subtask needs a human). */
export function roleFor(subtask: { complexity: Complexity; attempts: number }, ladder: readonly Role[] = DEFAULT_LADDER): Role | null {
  if (subtask.attempts > ladder.length) return null;
  if (subtask.complexity === 'complex') return 'planner';
  return ladder[subtask.attempts - 1] ?? 'planner';
}

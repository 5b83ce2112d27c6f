// Which model slot runs a subtask.
import type { Complexity, Role } from './types.js';

/** routine work goes to the cheap executor model; complex work to the planner model. */
export function roleFor(complexity: Complexity): Role {
  return complexity === 'complex' ? 'planner' : 'executor';
}

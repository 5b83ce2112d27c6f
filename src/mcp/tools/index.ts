// The tool registry: the one list that the server registers, scripts/schemas.ts writes to schemas/,
// and the tests walk. A new tool is one module here (see AGENTS.md, "Adding a tool").
import type { Tool } from '../tool.js';
import { cancelWorkflow } from './cancel-workflow.js';
import { discardChanges, mergeChanges } from './changes.js';
import { executeSubtask } from './execute-subtask.js';
import { planTask } from './plan-task.js';
import { reviewResults } from './review-results.js';
import { runWorkflow } from './run-workflow.js';
import { workflowStatus } from './workflow-status.js';

/** Every tool, in the order tools/list shows them. */
export const TOOLS: readonly Tool[] = [planTask, executeSubtask, reviewResults, workflowStatus, runWorkflow, cancelWorkflow, mergeChanges, discardChanges];

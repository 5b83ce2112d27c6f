// JSON Schemas generated from the zod schemas: the plan and review answers (exactly as sent to the
// Responses API) and every tool's input and output. `npm run schemas` writes them to schemas/;
// test/unit/schemas.test.ts fails when the files are stale.
import { z } from 'zod';
import { toStrictJsonSchema } from '../src/core/json-schema.js';
import { PlanSchema } from '../src/core/plan.js';
import { ReviewSchema } from '../src/core/review.js';
import { ExecuteSubtaskInput, ExecuteSubtaskOutput } from '../src/mcp/tools/execute-subtask.js';
import { PlanTaskInput, PlanTaskOutput } from '../src/mcp/tools/plan-task.js';
import { ReviewResultsInput, ReviewResultsOutput } from '../src/mcp/tools/review-results.js';
import { WorkflowStatusInput, WorkflowStatusOutput } from '../src/mcp/tools/workflow-status.js';
import { RunWorkflowInput } from '../src/mcp/tools/run-workflow.js';
import { CancelWorkflowInput } from '../src/mcp/tools/cancel-workflow.js';

const DRAFT_7 = 'http://json-schema.org/draft-07/schema#';

const TOOLS: Record<string, { input: z.ZodType; output: z.ZodType }> = {
  plan_task: { input: PlanTaskInput, output: PlanTaskOutput },
  execute_subtask: { input: ExecuteSubtaskInput, output: ExecuteSubtaskOutput },
  review_results: { input: ReviewResultsInput, output: ReviewResultsOutput },
  workflow_status: { input: WorkflowStatusInput, output: WorkflowStatusOutput },
  run_workflow: { input: RunWorkflowInput, output: WorkflowStatusOutput },
  cancel_workflow: { input: CancelWorkflowInput, output: WorkflowStatusOutput },
};

/** File name (under schemas/) -> file content. */
export function generateSchemas(): Record<string, string> {
  const files: Record<string, object> = {
    'plan.schema.json': { $schema: DRAFT_7, title: 'planexec plan', ...toStrictJsonSchema(PlanSchema) },
    'review.schema.json': { $schema: DRAFT_7, title: 'planexec review', ...toStrictJsonSchema(ReviewSchema) },
  };
  for (const [name, { input, output }] of Object.entries(TOOLS)) {
    files[`tools/${name}.input.schema.json`] = { title: `${name} input`, ...z.toJSONSchema(input, { target: 'draft-7', io: 'input' }) };
    files[`tools/${name}.output.schema.json`] = { title: `${name} output`, ...z.toJSONSchema(output, { target: 'draft-7', io: 'output' }) };
  }
  return Object.fromEntries(Object.entries(files).map(([file, schema]) => [file, `${JSON.stringify(schema, null, 2)}\n`]));
}

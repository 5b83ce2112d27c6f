import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { TaskRecord } from '../../core/ports.js';
import { HandedOverError } from '../../core/runtime.js';
import type { RunWorkflowInput as CoreRunInput } from '../../core/usecases/run-workflow.js';
import type { RequestExtra, ToolContext } from '../context.js';
import { input, TokenBudget, WorkflowId } from '../schemas.js';
import { TASK_POLL_MS } from '../task-store.js';
import { taskTool } from '../tool.js';
import { PlanTaskInput } from './plan-task.js';
import { renderStatus, RunStateOutput } from './workflow-status.js';

/** run_workflow's input (PRODUCT.md): plan_task's request fields, or a workflow_id; concurrency 1-32. */
export const RunWorkflowInput = input({
  request: PlanTaskInput.shape.request.describe('Start a new workflow for this request. Give this or workflow_id.'),
  context: PlanTaskInput.shape.context,
  files: PlanTaskInput.shape.files,
  workflow_id: WorkflowId.optional().describe('Continue or resume this workflow.'),
  budget: TokenBudget.optional(),
  concurrency: z.number().int().min(1).max(32).optional().describe('Subtasks run at once (default PLANEXEC_CONCURRENCY).'),
  wait: z.boolean().optional().describe('false: answer at once with the workflow_id; the run goes on in the background.'),
  checks: PlanTaskInput.shape.checks.describe('As in plan_task.'),
  changes: PlanTaskInput.shape.changes.describe('As in plan_task.'),
});
type Args = z.infer<typeof RunWorkflowInput>;

/** A call refused before its task was created; the SDK answers it with this message as an isError result. */
class Refused extends Error {}

/**
 * run_workflow, an MCP task (taskSupport optional: a plain call is polled by the SDK). The input is
 * checked before the task row is written (checkRunInput), so a refused call stores nothing; the run
 * then goes on detached, its outcome stored as the task's result. wait:false completes the task as soon
 * as the run has its workflow.
 */
export const runWorkflow = taskTool({
  name: 'run_workflow',
  title: 'Run a workflow to the end',
  description:
    'Plan a request (or pick up a workflow_id), then execute ready subtasks in parallel, review each wave in one planner call, re-execute what review sends back, until completed or a human is needed. Resumable after a restart; reports progress; wait:false answers at once. Also an MCP task.',
  input: RunWorkflowInput,
  output: RunStateOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  task: (ctx) => ({
    createTask: async (raw, extra) => {
      const args = raw as Args;
      // A refused call stores nothing, not even its task: check before the task row is written.
      try {
        await ctx.app.checkRunInput({ ...args, root: await ctx.sessionRoot() });
      } catch (error) {
        const refusal = ctx.error(error).content[0];
        throw new Refused(refusal?.type === 'text' ? refusal.text : String(error));
      }
      const task = await extra.taskStore.createTask({ ttl: extra.taskRequestedTtl ?? null, pollInterval: TASK_POLL_MS });
      await startRun(ctx, task.taskId, args, extra);
      return { task: (await extra.taskStore.getTask(task.taskId)) ?? task };
    },
    getTask: async (_args, extra) => (await extra.taskStore.getTask(extra.taskId))!,
    getTaskResult: async (_args, extra) => (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
  }),
});

/**
 * Runs the workflow in the background of a task and stores its outcome as the task's result. With
 * wait:false the task completes as soon as the run has its workflow (the result is the state at
 * that moment) and the run goes on on its own.
 */
async function startRun(ctx: ToolContext, taskId: string, args: Args, extra: RequestExtra): Promise<void> {
  const { app, tasks, log } = ctx;
  const reporter = args.wait === false ? null : ctx.progress(extra);
  const cancel = new AbortController();
  ctx.taskRuns.set(taskId, cancel);
  let started: (workflowId: string) => void = () => undefined;
  const onStarted = new Promise<string>((resolve) => (started = resolve));
  // The request's signal matters only while the client waits for this call (not for wait:false).
  const signal = args.wait === false ? cancel.signal : AbortSignal.any([cancel.signal, extra.signal]);
  const input: CoreRunInput = args;
  const work = ctx.detach(
    async (s) =>
      app.runWorkflow({ ...input, root: await ctx.sessionRoot(), requester: ctx.requester(extra) }, {
        signal: s,
        onProgress: (e) => reporter?.report(e),
        // The human can be asked only while a client waits on this call.
        askHuman: args.wait === false ? undefined : ctx.asker(s),
        onStarted: (workflowId) => {
          tasks.setWorkflow(taskId, workflowId).catch((error: unknown) => log.warn({ err: error }, 'could not record the workflow of a task'));
          started(workflowId);
        },
      }),
    signal,
  );
  // A newer run of this task in this process (resumeOrphanTask, after this process was taken for
  // dead and the task was adopted again) stores the outcome: this run's is out of date.
  const superseded = () => ctx.taskRuns.get(taskId) !== cancel;
  const finish = async (result: CallToolResult, status: 'completed' | 'failed') => {
    if (superseded()) {
      log.info({ task: taskId }, 'a newer run of this task stores its result');
      return;
    }
    try {
      // Kept and retried while the storage refuses it: a task of this live process is not left working.
      await app.deps.runtime.settle(`storing the result of task ${taskId}`, async () => {
        if (!(await tasks.isTerminal(taskId))) await tasks.storeTaskResult(taskId, status, result);
      });
    } catch (error) {
      log.warn({ err: error, task: taskId }, 'could not store the result of a task');
    }
  };
  const handedOver = async () => {
    log.info({ task: taskId }, 'the run of this task was handed over; the next poll resumes it');
    await tasks.disown(taskId).catch((error: unknown) => log.warn({ err: error, task: taskId }, 'could not give the task back'));
  };
  void work
    .then(
      (status) => finish(ctx.result(status, renderStatus), 'completed'),
      // A run handed over (this process was taken for dead) stores nothing: the task goes back to
      // no owner, and the next poll (resumeOrphanTask, here or in another process) resumes it.
      (error: unknown) => (error instanceof HandedOverError ? handedOver() : finish(ctx.error(error), 'failed')),
    )
    .finally(() => {
      reporter?.stop();
      if (!superseded()) ctx.taskRuns.delete(taskId);
    });
  if (args.wait === false) {
    const first = await Promise.race([onStarted, work.then(() => null, () => null)]);
    if (first !== null) {
      const status = await app.workflowStatus({ workflow_id: first });
      await finish(ctx.result(status, renderStatus, '\n(The run goes on in the background.)'), 'completed');
    }
    await Promise.race([work.catch(() => undefined), Promise.resolve()]);
  }
}

/** A task whose process died while it was working: this process takes it over and resumes the run. */
export async function resumeOrphanTask(ctx: ToolContext, task: TaskRecord): Promise<void> {
  if (!(await ctx.tasks.adopt(task.id))) return;
  if (!task.workflowId) {
    const error = new Error('planexec stopped before this task created its workflow; call run_workflow again.');
    await ctx.tasks.storeTaskResult(task.id, 'failed', ctx.error(error));
    return;
  }
  ctx.log.info({ task: task.id, workflow: task.workflowId }, 'resuming the run of an orphaned task');
  const noProgress: RequestExtra = { signal: new AbortController().signal, sendNotification: async () => undefined };
  void startRun(ctx, task.id, { workflow_id: task.workflowId }, noProgress);
}

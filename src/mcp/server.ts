// The MCP server factory: registers the tools over a Planexec, reports progress, keeps MCP tasks in
// SQLite, and tracks in-flight work so that shutdown can cancel it and wait for its journal rows.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { ProgressEvent } from '../core/journal.js';
import type { AskHuman } from '../core/types.js';
import { humanAsker } from './ask-human.js';
import type { Planexec } from '../core/planexec.js';
import type { Logger } from '../log.js';
import { progressReporter, type ProgressReporter } from './progress.js';
import { redactingTransport, type Redact } from './redact.js';
import { runTool } from './result.js';
import { SessionRoots } from './roots.js';
import { SqliteTaskStore } from './task-store.js';
import { registerCancelWorkflow } from './tools/cancel-workflow.js';
import { registerExecuteSubtask } from './tools/execute-subtask.js';
import { registerPlanTask } from './tools/plan-task.js';
import { registerReviewResults } from './tools/review-results.js';
import { registerRunWorkflow, resumeOrphanTask } from './tools/run-workflow.js';
import { registerWorkflowStatus } from './tools/workflow-status.js';

export interface RequestExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number } | undefined;
  sendNotification(notification: ServerNotification): Promise<void>;
}

export interface WorkControl {
  /** Aborted when the client cancels the request or the server shuts down. */
  signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
  /** Present when the client can show an elicitation form to the human. */
  askHuman: AskHuman | undefined;
}

export interface ToolContext {
  server: McpServer;
  app: Planexec;
  log: Logger;
  tasks: SqliteTaskStore;
  /** Runs a tool's work for one request and maps its result or error; reports progress if asked. */
  run<T extends object>(extra: RequestExtra, work: (ctl: WorkControl) => Promise<T> | T, render: (result: T) => string): Promise<CallToolResult>;
  /** Starts work that outlives its request (wait: false, tasks); only shutdown or `signal` aborts it. */
  detach<T>(work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  progress(extra: RequestExtra): ProgressReporter;
  /** An AskHuman when the client can show elicitation forms. */
  asker(signal: AbortSignal): AskHuman | undefined;
  /** Aborts the in-process run behind an MCP task (tasks/cancel). */
  taskRuns: Map<string, AbortController>;
  /** The root the client named for this session (MCP roots), for new workflows; undefined: the configured one. */
  sessionRoot(): Promise<string | undefined>;
}

export interface ServerDeps {
  app: Planexec;
  log: Logger;
  version: string;
  /** Progress notifications repeat at least this often while a call runs. */
  progressIntervalMs: number;
  /** Ask the client for its MCP roots (false when PLANEXEC_ROOT is set: it wins). */
  clientRoots: boolean;
  /** Masks secrets in every message sent to the client and every stored task result. */
  redact: Redact;
}

const INSTRUCTIONS = `planexec splits software work between a strong planner model and a cheap executor model.
Simplest: run_workflow {request} plans, executes every subtask (in parallel where the plan allows) and reviews, until done; pass wait:false to get the workflow_id at once and follow it with workflow_status.
Step by step: plan_task {request} -> execute_subtask {workflow_id} for each ready subtask (follow "next") -> review_results {workflow_id} -> repeat until phase is "completed".
workflow_status shows any workflow's state, tokens and cost against the planner model alone; without arguments it lists recent workflows. cancel_workflow stops one; run_workflow {workflow_id} resumes it.`;

export function createServer(deps: ServerDeps): { server: McpServer; cleanup: (graceMs?: number) => Promise<void> } {
  const { app, log } = deps;
  const taskRuns = new Map<string, AbortController>();
  let ctx: ToolContext | null = null;
  const tasks = new SqliteTaskStore(app.deps.store, app.deps.clock, app.deps.owner, deps.redact, {
    onCancel: (task) => {
      taskRuns.get(task.id)?.abort(new Error('the task was cancelled'));
      if (task.workflowId) app.cancelWorkflow({ workflow_id: task.workflowId }).catch((error: unknown) => log.warn({ err: error }, 'cancelling the workflow of a cancelled task'));
    },
    onOrphan: (task) => {
      if (ctx) resumeOrphanTask(ctx, task).catch((error: unknown) => log.warn({ err: error, task: task.id }, 'could not resume an orphaned task'));
    },
  });
  const server = new McpServer(
    { name: 'planexec', version: deps.version },
    { instructions: INSTRUCTIONS, capabilities: { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } }, taskStore: tasks },
  );
  // Every connection goes through the redacting transport: nothing is sent unmasked.
  const connect = server.connect.bind(server);
  server.connect = (transport) => connect(redactingTransport(transport, deps.redact));
  const roots = new SessionRoots(server, log, deps.clientRoots);
  roots.attach();
  const shutdown = new AbortController();
  const inflight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    void p.then(
      () => inflight.delete(p),
      () => inflight.delete(p),
    );
    return p;
  };
  ctx = {
    server,
    app,
    log,
    tasks,
    taskRuns,
    run: (extra, work, render) => {
      const reporter = progressReporter(extra, deps.progressIntervalMs);
      const signal = AbortSignal.any([extra.signal, shutdown.signal]);
      const askHuman = humanAsker(server, signal, log);
      return track(runTool(log, () => work({ signal, onProgress: (e) => reporter.report(e), askHuman }), render)).finally(() => reporter.stop());
    },
    detach: (work, signal) => track(work(signal ? AbortSignal.any([signal, shutdown.signal]) : shutdown.signal)),
    progress: (extra) => progressReporter(extra, deps.progressIntervalMs),
    asker: (signal) => humanAsker(server, signal, log),
    sessionRoot: () => roots.current(),
  };
  registerPlanTask(ctx);
  registerExecuteSubtask(ctx);
  registerReviewResults(ctx);
  registerWorkflowStatus(ctx);
  registerRunWorkflow(ctx);
  registerCancelWorkflow(ctx);

  /** Cancels in-flight calls and waits (at most `graceMs`) for them to settle their journal rows. */
  const cleanup = async (graceMs = 500) => {
    shutdown.abort(new Error('planexec is shutting down'));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...inflight]), grace]);
    clearTimeout(timer);
    await server.close();
  };
  return { server, cleanup };
}

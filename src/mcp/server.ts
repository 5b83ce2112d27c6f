// The MCP server factory: registers the tools over a Planexec and tracks in-flight calls so that
// shutdown can cancel them and wait for their journal rows to be settled.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Planexec } from '../core/planexec.js';
import type { Logger } from '../log.js';
import { runTool } from './result.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { registerExecuteSubtask } from './tools/execute-subtask.js';
import { registerPlanTask } from './tools/plan-task.js';
import { registerReviewResults } from './tools/review-results.js';
import { registerWorkflowStatus } from './tools/workflow-status.js';

export interface ToolContext {
  server: McpServer;
  app: Planexec;
  /**
   * Runs a tool's work and maps its result or error. The signal given to the work is aborted when
   * the client cancels the request or the server shuts down.
   */
  run<T extends object>(extra: { signal: AbortSignal }, work: (signal: AbortSignal) => Promise<T> | T, render: (result: T) => string): Promise<CallToolResult>;
}

export interface ServerDeps {
  app: Planexec;
  log: Logger;
  version: string;
}

const INSTRUCTIONS = `planexec splits software work between a strong planner model and a cheap executor model.
Flow: plan_task {request} -> execute_subtask {workflow_id} for each ready subtask (follow "next") -> review_results {workflow_id} -> repeat until phase is "completed".
workflow_status shows any workflow's state, tokens and cost against the planner model alone; without arguments it lists recent workflows.`;

export function createServer(deps: ServerDeps): { server: McpServer; cleanup: (graceMs?: number) => Promise<void> } {
  const server = new McpServer({ name: 'planexec', version: deps.version }, { instructions: INSTRUCTIONS });
  const shutdown = new AbortController();
  const inflight = new Set<Promise<unknown>>();
  const ctx: ToolContext = {
    server,
    app: deps.app,
    run: (extra, work, render) => {
      const signal = AbortSignal.any([extra.signal, shutdown.signal]);
      const done = runTool(deps.log, () => work(signal), render);
      inflight.add(done);
      void done.finally(() => inflight.delete(done));
      return done;
    },
  };
  registerPlanTask(ctx);
  registerExecuteSubtask(ctx);
  registerReviewResults(ctx);
  registerWorkflowStatus(ctx);

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

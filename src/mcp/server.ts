// The MCP server factory: registers the tools over a Planexec, reports progress, keeps MCP tasks in
// SQLite, and tracks in-flight work so that shutdown can cancel it and wait for its journal rows.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Planexec } from '../core/planexec.js';
import type { Logger } from '../log.js';
import { humanAsker } from './ask-human.js';
import type { ToolContext } from './context.js';
import { progressReporter } from './progress.js';
import { redactingTransport, type Redact } from './redact.js';
import { errorResult, toolResult } from './result.js';
import { requesterOf } from './requester.js';
import { SessionRoots } from './roots.js';
import { StoredTaskStore } from './task-store.js';
import { registerTool, toolDefinition } from './tool.js';
import { TOOLS } from './tools/index.js';
import { resumeOrphanTask } from './tools/run-workflow.js';

/** What createServer needs: the bound use cases, the logger, and the settings of the MCP layer. */
export interface ServerDeps {
  app: Planexec;
  log: Logger;
  /** planexec's version, sent as the server's version in initialize. */
  version: string;
  /** Progress notifications repeat at least this often while a call runs, ms. */
  progressIntervalMs: number;
  /** Ask the client for its MCP roots (false when PLANEXEC_ROOT is set: it wins). */
  clientRoots: boolean;
  /** Masks secrets in every message sent to the client and every stored task result. */
  redact: Redact;
  /** PLANEXEC_REQUESTER: the requester of this server's requests that carry no token name (requester.ts). */
  requester?: string | null;
  /**
   * What this server shares with the other sessions of the process (Streamable HTTP: one server per
   * session); default: its own. Work that outlives a request (wait:false, MCP tasks) belongs to the
   * scope, so it goes on when the session that started it ends, and stopScope() ends it.
   */
  scope?: ServerScope;
}

/**
 * What the MCP servers of one process share: the shutdown signal that aborts every call and
 * background run, the in-flight work shutdown waits for, and the runs behind MCP tasks (so
 * tasks/cancel reaches a run from any session).
 */
export interface ServerScope {
  readonly shutdown: AbortController;
  readonly inflight: Set<Promise<unknown>>;
  readonly taskRuns: Map<string, AbortController>;
}

/** A fresh scope: nothing in flight, not shut down. */
export function createScope(): ServerScope {
  return { shutdown: new AbortController(), inflight: new Set(), taskRuns: new Map() };
}

/**
 * Aborts every call and background run of `scope` and waits, at most `graceMs` (ms), for them to
 * settle their journal rows. Never throws.
 */
export async function stopScope(scope: ServerScope, graceMs: number): Promise<void> {
  scope.shutdown.abort(new Error('planexec is shutting down'));
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise((resolve) => (timer = setTimeout(resolve, graceMs)));
  await Promise.race([Promise.allSettled([...scope.inflight]), grace]);
  clearTimeout(timer);
}

const INSTRUCTIONS = `planexec splits software work between a strong planner model and a cheap executor model.
Simplest: run_workflow {request} plans, executes every subtask (in parallel where the plan allows) and reviews, until done; pass wait:false to get the workflow_id at once and follow it with workflow_status.
Step by step: plan_task {request} -> execute_subtask {workflow_id} for each ready subtask (follow "next") -> review_results {workflow_id} -> repeat until phase is "completed".
workflow_status shows any workflow's state, tokens and cost against the planner model alone; without arguments it lists recent workflows. cancel_workflow stops one; run_workflow {workflow_id} resumes it.
In a git repository the executors edit the code on branch planexec/<workflow_id> in a worktree of its own, checked by the commands in "checks"; your files change only when you call merge_changes {workflow_id} (discard_changes drops the branch).`;

/**
 * One MCP server (one session: stdio, or one Streamable HTTP session) over `deps.app`. `cleanup`
 * stops the whole scope (see stopScope), then closes this server's transport.
 */
export function createServer(deps: ServerDeps): { server: McpServer; cleanup: (graceMs?: number) => Promise<void> } {
  const { app, log } = deps;
  const scope = deps.scope ?? createScope();
  const { taskRuns, inflight, shutdown } = scope;
  let ctx: ToolContext | null = null;
  const tasks = new StoredTaskStore(app.deps.store, app.deps.clock, app.deps.owner, deps.redact, {
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
  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    void p.then(
      () => inflight.delete(p),
      () => inflight.delete(p),
    );
    return p;
  };
  const count = (text: string) => app.deps.tokens.count(text);
  ctx = {
    server,
    app,
    log,
    tasks,
    taskRuns,
    result: (data, render, suffix) => toolResult(data, render, count, suffix),
    error: (error) => errorResult(error, log, count),
    run: (extra, work, render) => {
      const reporter = progressReporter(extra, deps.progressIntervalMs);
      const signal = AbortSignal.any([extra.signal, shutdown.signal]);
      const askHuman = humanAsker(server, signal, log);
      const answer = async () => {
        try {
          return toolResult(await work({ signal, onProgress: (e) => reporter.report(e), askHuman }), render, count);
        } catch (error) {
          return errorResult(error, log, count);
        }
      };
      return track(answer()).finally(() => reporter.stop());
    },
    detach: (work, signal) => track(work(signal ? AbortSignal.any([signal, shutdown.signal]) : shutdown.signal)),
    progress: (extra) => progressReporter(extra, deps.progressIntervalMs),
    asker: (signal) => humanAsker(server, signal, log),
    sessionRoot: () => roots.current(),
    requester: (extra) => requesterOf(server.server, extra, deps.requester ?? null),
  };
  for (const tool of TOOLS) registerTool(ctx, tool);
  // The SDK converts the zod schemas itself, with no say in the result; planexec lists the same
  // tools with the schemas of json-schema.ts (portable, compact, and identical to schemas/).
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS.map(toolDefinition) }));

  /** Cancels in-flight calls and waits (at most `graceMs`) for them to settle their journal rows. */
  const cleanup = async (graceMs = 500) => {
    await stopScope(scope, graceMs);
    await server.close();
  };
  return { server, cleanup };
}

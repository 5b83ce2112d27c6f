// What a tool's handler gets from the server: the core, the logger, the task store, and the helpers
// that run a call's work (progress, cancellation, shutdown, bounded results). Kept apart from
// server.ts so that tools and server do not import each other.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import type { ProgressEvent } from '../core/journal.js';
import type { Planexec } from '../core/planexec.js';
import type { AskHuman } from '../core/types.js';
import type { Logger } from '../log.js';
import type { ProgressReporter } from './progress.js';
import type { RequesterExtra } from './requester.js';
import type { StoredTaskStore } from './task-store.js';

/** The part of the SDK's request handler `extra` that planexec uses. */
export interface RequestExtra extends RequesterExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number } | undefined;
  sendNotification(notification: ServerNotification): Promise<void>;
}

/** What a use case gets for one call. */
export interface WorkControl {
  /** Aborted when the client cancels the request or the server shuts down. */
  signal: AbortSignal;
  onProgress(event: ProgressEvent): void;
  /** Present when the client can show an elicitation form to the human. */
  askHuman: AskHuman | undefined;
}

/** What every tool's handler gets (tool.ts registers each with it): built once per MCP server by createServer. */
export interface ToolContext {
  server: McpServer;
  app: Planexec;
  log: Logger;
  tasks: StoredTaskStore;
  /**
   * Runs a tool's work for one request and maps its result (bounded, see bound.ts) or error;
   * reports progress if the request asked for it. Never throws.
   */
  run<T extends object>(extra: RequestExtra, work: (ctl: WorkControl) => Promise<T> | T, render: (result: T) => string): Promise<CallToolResult>;
  /** A successful result as sent: structuredContent and its text rendering, bounded together. */
  result<T extends object>(data: T, render: (result: T) => string, suffix?: string): CallToolResult;
  /** An isError result for a failure (see result.ts). */
  error(error: unknown): CallToolResult;
  /** Starts work that outlives its request (wait: false, tasks); only shutdown or `signal` aborts it. */
  detach<T>(work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  progress(extra: RequestExtra): ProgressReporter;
  /** An AskHuman when the client can show elicitation forms. */
  asker(signal: AbortSignal): AskHuman | undefined;
  /** Aborts the in-process run behind an MCP task (tasks/cancel). */
  taskRuns: Map<string, AbortController>;
  /** The root the client named for this session (MCP roots), for new workflows; undefined: the configured one. */
  sessionRoot(): Promise<string | undefined>;
  /** Who asks in this request, for the workflows it creates (the rule in requester.ts); null: unknown. */
  requester(extra: RequestExtra): string | null;
}

// The shape of one tool in the registry (src/mcp/tools/index.ts), and how a tool is registered on the
// SDK's server: a plain tool with `call`, or one that is also an MCP task with `task`.
import type { ToolTaskHandler } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, Tool as ToolDefinition, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { RequestExtra, ToolContext } from './context.js';
import { toolJsonSchema } from './json-schema.js';

interface ToolBase<I extends z.ZodObject, O extends z.ZodObject> {
  name: string;
  title: string;
  /** What the tool does, for a model choosing it: true, short (it is sent in every tools/list). */
  description: string;
  /** A closed object (schemas.ts `input`): unknown fields are refused by name. */
  input: I;
  output: O;
  annotations: ToolAnnotations;
}

/** A tool answered within its request. The handler stays a few lines: `ctx.run(extra, work, render)`. */
export interface CallTool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> extends ToolBase<I, O> {
  call(ctx: ToolContext, args: z.output<I>, extra: RequestExtra): Promise<CallToolResult>;
}

/** A tool that is also an MCP task (`execution.taskSupport: "optional"`): the SDK polls it for plain calls. */
export interface TaskTool<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> extends ToolBase<I, O> {
  task(ctx: ToolContext): ToolTaskHandler<I>;
}

/** One entry of the registry (src/mcp/tools/index.ts TOOLS). */
export type Tool = CallTool | TaskTool;

/** Types a plain tool's handler from its schemas. */
export function callTool<I extends z.ZodObject, O extends z.ZodObject>(tool: CallTool<I, O>): CallTool {
  return tool as unknown as CallTool;
}

/** Types a task tool's handler from its schemas. */
export function taskTool<I extends z.ZodObject, O extends z.ZodObject>(tool: TaskTool<I, O>): TaskTool {
  return tool as unknown as TaskTool;
}

/** Registers `tool` on the context's server. */
export function registerTool(ctx: ToolContext, tool: Tool): void {
  const config = { title: tool.title, description: tool.description, inputSchema: tool.input, outputSchema: tool.output, annotations: tool.annotations };
  if ('task' in tool) {
    ctx.server.experimental.tasks.registerToolTask(tool.name, { ...config, execution: { taskSupport: 'optional' } }, tool.task(ctx));
    return;
  }
  const callback: ToolCallback<z.ZodObject> = (args, extra) => tool.call(ctx, args, extra);
  ctx.server.registerTool(tool.name, config, callback);
}

const definitions = new WeakMap<Tool, ToolDefinition>();

/**
 * The tool as tools/list shows it, with its schemas from json-schema.ts (the same as schemas/).
 * Computed once per tool.
 */
export function toolDefinition(tool: Tool): ToolDefinition {
  let definition = definitions.get(tool);
  if (!definition) {
    definition = {
      name: tool.name,
      title: tool.title,
      description: tool.description,
      inputSchema: toolJsonSchema(tool.input, 'input') as ToolDefinition['inputSchema'],
      outputSchema: toolJsonSchema(tool.output, 'output') as ToolDefinition['outputSchema'],
      annotations: withoutDefaults(tool.annotations),
      ...('task' in tool ? { execution: { taskSupport: 'optional' as const } } : {}),
    };
    definitions.set(tool, definition);
  }
  return definition;
}

/** The MCP spec's defaults for the hints (schema.ts, ToolAnnotations): a hint equal to its default goes unsent. */
export const HINT_DEFAULTS = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true } as const;

/** The annotations without the hints that say what the default says (tools/list is read every session). */
function withoutDefaults(annotations: ToolAnnotations): ToolAnnotations {
  return Object.fromEntries(Object.entries(annotations).filter(([k, v]) => HINT_DEFAULTS[k as keyof typeof HINT_DEFAULTS] !== v)) as ToolAnnotations;
}

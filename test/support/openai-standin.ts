// A local HTTP server that speaks the OpenAI wire format (Responses and Chat Completions), for tests,
// the demo and the benchmarks. It records every request, answers from a script or a responder, chains
// responses through previous_response_id, and reports usage with a prefix-cache model. It also answers
// with apply_patch tool calls (and checks the apply_patch_call_output items sent back), and plays the
// ways a server fails: failed / incomplete / empty responses, no usage, bodies cut short or dripped,
// errors that echo the Authorization header, lost threads, and chat servers that ignore response_format.
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { decode, encode } from 'gpt-tokenizer/encoding/o200k_base';

export interface StandinUsage {
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
}

export interface StandinRequest {
  /** 1-based order of arrival. */
  seq: number;
  endpoint: 'responses' | 'chat.completions';
  /** Parsed JSON body as received (the raw text when it was not valid JSON). */
  body: any;
  headers: Record<string, string | string[] | undefined>;
  model: string;
  /** responses: body.instructions; chat: the system/developer message text(s) joined. */
  instructions: string | null;
  /** This request's own input flattened to text. */
  inputText: string;
  previousResponseId: string | null;
  /** text.format.name (responses) or response_format.json_schema.name (chat), for json_schema formats. */
  schemaName: string | null;
  /** The full prompt the model "sees": [schema] + [instructions] + earlier turns + this input. */
  promptText: string;
  /** performance.timeOrigin + performance.now() at arrival (ms). */
  startedAt: number;
  /** When the response was fully written, or the client went away. */
  endedAt: number | null;
  /** The client closed the connection before the reply was sent. */
  aborted: boolean;
  /** HTTP status sent. */
  status: number | null;
  responseId: string | null;
  usage: StandinUsage | null;
  /** The text answered (after any max_output_tokens cut), once a reply was sent. */
  outputText: string | null;
  /** responses: body.tools as sent (e.g. [{ type: 'apply_patch' }]); [] when absent. chat: body.tools or []. */
  tools: unknown[];
  /** The `apply_patch_call_output` items of this request's input, in order (responses only). */
  patchOutputs: StandinPatchOutput[];
  /** The stand-in closed the connection in the middle of the body (a `cutAfterBytes` reply). */
  cutShort: boolean;
}

/** An `apply_patch_call_output` input item as the client sent it. */
export interface StandinPatchOutput {
  call_id: string;
  status: string;
  output: string | null;
}

/** One operation of a `patchCalls` reply; answered as an `apply_patch_call` output item whose
 *  `operation` is { type, path, diff } (no diff for delete_file; `move_to` when moveTo is set). */
export interface StandinPatchCall {
  type: 'create_file' | 'update_file' | 'delete_file';
  path: string;
  diff?: string;
  moveTo?: string;
}

/** How a reply with a 200 body is delivered. */
export interface StandinDelivery {
  /** Wait before answering (overrides latencyMs). */
  delayMs?: number;
  /** Leave the `usage` block out of the body, as some servers do. */
  omitUsage?: boolean;
  /** Send the headers at once, then the body in `dripChunks` pieces (default 10) spread over this many ms. */
  dripMs?: number;
  dripChunks?: number;
  /** Send only the first N bytes of the body (content-length still announces all of it), then close
   *  the connection: a body cut short. */
  cutAfterBytes?: number;
}

export type StandinReply =
  | ({ text: string; outputTokens?: number } & StandinDelivery)
  | ({ json: unknown } & StandinDelivery)
  /** responses only, and only when the request offered tools [{ type: 'apply_patch' }]: one
   *  `apply_patch_call` item per call (status completed), after a message item when `text` is given. */
  | ({ patchCalls: StandinPatchCall[]; text?: string } & StandinDelivery)
  /** responses: a 200 response with status 'failed', `error` { code, message }, no output and usage null. */
  | ({ failed: { code: string; message: string } } & StandinDelivery)
  /** responses: status 'incomplete' with incomplete_details { reason } and usage; the output is a message
   *  with `text` (status incomplete), or a lone reasoning item when there is no text.
   *  chat: finish_reason 'length' (or 'content_filter') with the text. */
  | ({ incomplete: { reason: 'max_output_tokens' | 'content_filter'; text?: string } } & StandinDelivery)
  /** responses: a completed response with `output: []`; chat: `choices: []`. */
  | ({ emptyOutput: true } & StandinDelivery)
  | {
      /** `param` names the request field at fault, as the API does (e.g. 'tools' when a model does not take a tool). */
      error: { status: number; message: string; type?: string; code?: string | null; param?: string | null };
      delayMs?: number;
      headers?: Record<string, string>;
      /** Append the request's Authorization header to the message, as some proxies do. */
      echoAuthorization?: boolean;
    }
  | { hang: true };

export type Responder = (req: StandinRequest) => StandinReply | Promise<StandinReply>;

export interface StandinOptions {
  /** Default: autoResponder. */
  responder?: Responder;
  /** Added before every reply unless the reply sets delayMs (default 0). */
  latencyMs?: number;
  /** Default 1024. */
  cacheMinTokens?: number;
  /** Default 128. */
  cacheStepTokens?: number;
  /** The port on 127.0.0.1 to listen on (default 0: any free port; baseURL says which). */
  port?: number;
  /** chat: ignore `response_format` (no schema check, schemaName null, no schema in promptText), as
   *  some OpenAI-compatible servers do; the responder then answers plain text. */
  chatIgnoresResponseFormat?: boolean;
}

export interface OpenAIStandin {
  /** e.g. http://127.0.0.1:PORT/v1 — pass to new OpenAI({ baseURL, apiKey }). */
  baseURL: string;
  /** Every request, in arrival order. */
  requests: StandinRequest[];
  setResponder(r: Responder): void;
  /** Queue: each request takes the next item; when the queue is empty the responder is used. */
  script(...replies: Array<StandinReply | Responder>): void;
  /** Clears requests, queue, stored and lost responses, and cache. */
  reset(): void;
  /** Requests that chain from this response id (directly or through their chain) get the API's 400
   *  "Previous response with id '<id>' not found." although the response was stored: a lost thread. */
  loseResponse(id: string): void;
  /** Drops every stored response, as a server whose store was wiped; chaining from them then fails. */
  forgetResponses(): void;
  /** Also ends hanging requests. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Tokens

const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };

function tokenize(text: string): number[] {
  return encode(text, ENCODE_OPTIONS);
}

/** Token count under o200k_base (special-token strings are counted as plain text). */
export function countTokens(text: string): number {
  return tokenize(text).length;
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** Per-model store of earlier prompts' tokens; answers the longest common token prefix. */
class PrefixCache {
  private readonly byModel = new Map<string, Uint32Array[]>();

  longestPrefix(model: string, tokens: Uint32Array): number {
    const prompts = this.byModel.get(model);
    if (!prompts) return 0;
    let best = 0;
    for (const p of prompts) {
      const limit = Math.min(p.length, tokens.length);
      if (limit <= best) continue;
      let i = 0;
      while (i < limit && p[i] === tokens[i]) i++;
      if (i > best) {
        best = i;
        if (best === tokens.length) break;
      }
    }
    return best;
  }

  remember(model: string, tokens: Uint32Array): void {
    let prompts = this.byModel.get(model);
    if (!prompts) {
      prompts = [];
      this.byModel.set(model, prompts);
    }
    // A prompt that is a prefix of one already stored adds nothing.
    if (this.longestPrefix(model, tokens) === tokens.length) return;
    prompts.push(tokens);
  }

  clear(): void {
    this.byModel.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Flattening request bodies to text

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') parts.push(part);
    else if (isRecord(part)) {
      if (typeof part.text === 'string') parts.push(part.text);
      else if (typeof part.refusal === 'string') parts.push(part.refusal);
    }
  }
  return parts.filter((p) => p.length > 0).join('\n');
}

function itemText(item: unknown): string {
  if (typeof item === 'string') return item;
  if (!isRecord(item)) return '';
  if (item.type === 'apply_patch_call_output') {
    const output = typeof item.output === 'string' && item.output ? `: ${item.output}` : '';
    return `apply_patch ${String(item.call_id)} ${String(item.status)}${output}`;
  }
  if (item.type === 'apply_patch_call' && isRecord(item.operation)) return patchCallText(item.operation);
  if ('content' in item) return contentText(item.content);
  if (typeof item.output === 'string') return item.output; // function_call_output
  if (typeof item.arguments === 'string') return item.arguments; // function_call
  return '';
}

/** An apply_patch operation as text, for promptText and inputText. */
function patchCallText(op: Record<string, unknown>): string {
  const head = `apply_patch ${String(op.type)} ${String(op.path)}${typeof op.move_to === 'string' ? ` -> ${op.move_to}` : ''}`;
  return typeof op.diff === 'string' && op.diff ? `${head}\n${op.diff}` : head;
}

/** The apply_patch_call_output items of a Responses `input`. */
function patchOutputsOf(input: unknown): StandinPatchOutput[] {
  if (!Array.isArray(input)) return [];
  const out: StandinPatchOutput[] = [];
  for (const item of input) {
    if (isRecord(item) && item.type === 'apply_patch_call_output') {
      out.push({ call_id: String(item.call_id), status: String(item.status), output: typeof item.output === 'string' ? item.output : null });
    }
  }
  return out;
}

/** Responses `input` (string or items) flattened to text. */
function inputToText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (!Array.isArray(input)) return '';
  return input
    .map(itemText)
    .filter((t) => t.length > 0)
    .join('\n\n');
}

function joinSegments(segments: Array<string | null | undefined>): string {
  return segments.filter((s): s is string => typeof s === 'string' && s.length > 0).join('\n\n');
}

interface JsonSchemaFormat {
  name: string | null;
  schema: unknown;
  strict: boolean;
}

function responsesFormat(body: Record<string, unknown>): JsonSchemaFormat | null {
  const text = body.text;
  if (!isRecord(text) || !isRecord(text.format) || text.format.type !== 'json_schema') return null;
  const f = text.format;
  return { name: typeof f.name === 'string' ? f.name : null, schema: f.schema, strict: f.strict === true };
}

function chatFormat(body: Record<string, unknown>): JsonSchemaFormat | null {
  const rf = body.response_format;
  if (!isRecord(rf) || rf.type !== 'json_schema' || !isRecord(rf.json_schema)) return null;
  const js = rf.json_schema;
  return { name: typeof js.name === 'string' ? js.name : null, schema: js.schema, strict: js.strict === true };
}

/** Mimics the real API's strict-mode schema check: every object needs additionalProperties:false and
 *  every property listed in required. Returns the API's message, or null when the schema is fine. */
function strictSchemaProblem(schema: unknown, formatName: string): string | null {
  const prefix = `Invalid schema for response_format '${formatName}': `;
  const ctx = (path: string[]): string =>
    path.length === 0 ? '()' : path.length === 1 ? `('${path[0]}',)` : `(${path.map((p) => `'${p}'`).join(', ')})`;
  const visit = (node: unknown, path: string[]): string | null => {
    if (!isRecord(node)) return null;
    const props = isRecord(node.properties) ? node.properties : null;
    if (node.type === 'object' || props) {
      if (node.additionalProperties !== false) {
        return `${prefix}In context=${ctx(path)}, 'additionalProperties' is required to be supplied and to be false.`;
      }
      if (props) {
        const required = Array.isArray(node.required) ? node.required : [];
        const missing = Object.keys(props).filter((k) => !required.includes(k));
        if (missing.length > 0) {
          return `${prefix}In context=${ctx(path)}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
        }
        for (const [k, v] of Object.entries(props)) {
          const found = visit(v, [...path, 'properties', k]);
          if (found) return found;
        }
      }
    }
    if (node.items !== undefined) {
      const found = visit(node.items, [...path, 'items']);
      if (found) return found;
    }
    for (const key of ['anyOf', 'allOf', 'oneOf'] as const) {
      const list = node[key];
      if (Array.isArray(list)) {
        for (const [i, v] of list.entries()) {
          const found = visit(v, [...path, key, String(i)]);
          if (found) return found;
        }
      }
    }
    for (const key of ['$defs', 'definitions'] as const) {
      const defs = node[key];
      if (isRecord(defs)) {
        for (const [k, v] of Object.entries(defs)) {
          const found = visit(v, [...path, key, k]);
          if (found) return found;
        }
      }
    }
    return null;
  };
  return visit(schema, []);
}

// ---------------------------------------------------------------------------------------------
// autoResponder

function firstLineMatching(text: string, pattern: RegExp): string | null {
  for (const line of text.split(/\r?\n/)) {
    if (pattern.test(line)) return line;
  }
  return null;
}

function squash(text: string, max: number): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function workflowRequest(req: StandinRequest): string {
  for (const text of [req.inputText, req.promptText]) {
    const line = firstLineMatching(text, /^\s*Request:/);
    if (line) {
      const rest = squash(line.replace(/^\s*Request:\s*/, ''), 200);
      if (rest) return rest;
    }
  }
  return squash(req.inputText, 200) || 'the requested change';
}

function autoPlan(req: StandinRequest): unknown {
  const request = workflowRequest(req);
  const subtask = (
    id: string,
    title: string,
    description: string,
    depends_on: string[],
    complexity: 'routine' | 'complex',
    output_format: string,
  ) => ({ id, title, description, depends_on, complexity, output_format, relevant_files: [] as string[], writes: [] as string[], checks: [] as string[] });
  return {
    subtasks: [
      subtask('s1', 'Design the data model', `Design the data model needed for: ${request}`, [], 'complex', 'a markdown design note'),
      subtask('s2', 'Implement the core logic', `Implement the core logic for: ${request}. Follow the data model from s1.`, ['s1'], 'routine', 'a unified diff'),
      subtask('s3', 'Write tests', `Write tests covering the core logic for: ${request}.`, ['s2'], 'routine', 'a unified diff'),
      subtask('s4', 'Document the change', `Document the change for: ${request}.`, ['s2'], 'routine', 'a markdown section'),
    ],
    coordination_notes: `s1 fixes the data model that s2 implements; s3 and s4 both build on s2 and can run in parallel. Request: ${request}`,
  };
}

function autoReview(req: StandinRequest): unknown {
  const ids: string[] = [];
  for (const m of req.inputText.matchAll(/^\s*###\s+Subtask\s+[`'"]?([A-Za-z0-9][A-Za-z0-9_.-]{0,39})/gm)) {
    const id = m[1];
    if (id !== undefined && !ids.includes(id)) ids.push(id);
  }
  return {
    verdict: 'approve',
    reviews: ids.map((subtask_id) => ({ subtask_id, verdict: 'approve', feedback: 'Looks complete.' })),
    summary: 'All subtasks approved.',
  };
}

function autoAnswer(req: StandinRequest): string {
  const line = firstLineMatching(req.inputText, /Subtask/) ?? firstLineMatching(req.inputText, /\S/) ?? 'the task';
  const echo = squash(line.replace(/^[#>*\-\s]+/, ''), 160);
  return [
    '## Result',
    '',
    `Completed: ${echo}`,
    '',
    '- Followed the requested output format and kept the change focused on this subtask.',
    '- Reused the interfaces produced by the dependencies without changing them.',
    '- Checked edge cases: empty input, repeated calls and invalid values are handled.',
    '',
    'No open questions remain; the result is ready for review.',
  ].join('\n');
}

/** Deterministic answers for the planner/executor prompts, keyed by the structured-output schema name. */
export const autoResponder: Responder = (req) => {
  switch (req.schemaName) {
    case 'plan':
      return { json: autoPlan(req) };
    case 'review':
      return { json: autoReview(req) };
    case 'compaction':
      return { json: { summary: `State summary: ${squash(req.inputText, 300)}` } };
    default:
      return { text: autoAnswer(req) };
  }
};

// ---------------------------------------------------------------------------------------------
// The server

interface StoredResponse {
  id: string;
  model: string;
  input: unknown;
  inputText: string;
  outputText: string;
  previousResponseId: string | null;
  /** call_ids of the apply_patch_call items this response output. */
  patchCallIds: string[];
}

interface ApiErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

class HttpError {
  constructor(
    readonly status: number,
    readonly error: ApiErrorBody,
  ) {}
}

function invalidRequest(message: string, param: string | null = null, code: string | null = null): HttpError {
  return new HttpError(400, { message, type: 'invalid_request_error', param, code });
}

function defaultErrorType(status: number): string {
  if (status === 429) return 'requests';
  if (status === 403) return 'permission_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Resolves true when `signal` fired first (or already had), false after `ms`. */
function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      if (timer) clearTimeout(timer);
      resolve(true);
    };
    const timer = Number.isFinite(ms)
      ? setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve(false);
        }, Math.max(0, ms))
      : null;
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function isReply(v: unknown): v is StandinReply {
  return (
    isRecord(v) &&
    ('text' in v || 'json' in v || 'error' in v || v.hang === true || Array.isArray(v.patchCalls) || isRecord(v.failed) || isRecord(v.incomplete) || v.emptyOutput === true)
  );
}

function offersApplyPatch(tools: unknown[]): boolean {
  return tools.some((t) => isRecord(t) && t.type === 'apply_patch');
}

export async function startOpenAIStandin(opts: StandinOptions = {}): Promise<OpenAIStandin> {
  let responder: Responder = opts.responder ?? autoResponder;
  const latencyMs = opts.latencyMs ?? 0;
  const cacheMinTokens = opts.cacheMinTokens ?? 1024;
  const cacheStepTokens = opts.cacheStepTokens ?? 128;
  const chatIgnoresResponseFormat = opts.chatIgnoresResponseFormat === true;

  const requests: StandinRequest[] = [];
  let seq = 0;
  let queue: Array<StandinReply | Responder> = [];
  const stored = new Map<string, StoredResponse>();
  const lost = new Set<string>();
  const cache = new PrefixCache();
  const inFlight = new Map<AbortController, { rec: StandinRequest; res: ServerResponse }>();
  let closing = false;

  const sendJson = (res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void => {
    if (res.destroyed || res.writableEnded) return;
    const body = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': `req_${hex(16)}`,
      ...headers,
    });
    res.end(body);
  };

  /** Fills the derived fields of a responses request; throws HttpError for invalid requests. */
  const describeResponses = (rec: StandinRequest, body: Record<string, unknown>): void => {
    rec.model = typeof body.model === 'string' ? body.model : '';
    rec.instructions = typeof body.instructions === 'string' ? body.instructions : Array.isArray(body.instructions) ? inputToText(body.instructions) : null;
    rec.inputText = inputToText(body.input);
    rec.previousResponseId = typeof body.previous_response_id === 'string' ? body.previous_response_id : null;
    rec.tools = Array.isArray(body.tools) ? body.tools : [];
    rec.patchOutputs = patchOutputsOf(body.input);
    const format = responsesFormat(body);
    rec.schemaName = format?.name ?? null;

    if (!rec.model) throw invalidRequest("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
    if (body.input === undefined || body.input === null) {
      throw invalidRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
    }
    if (typeof body.input !== 'string' && !Array.isArray(body.input)) {
      throw invalidRequest("Invalid type for 'input': expected a string or an array of input items.", 'input', 'invalid_type');
    }
    if (body.stream === true) throw invalidRequest('The OpenAI stand-in does not support stream: true.', 'stream', 'unsupported_value');
    if (format) {
      if (!format.name) throw invalidRequest("Missing required parameter: 'text.format.name'.", 'text.format.name', 'missing_required_parameter');
      if (!isRecord(format.schema)) throw invalidRequest("Missing required parameter: 'text.format.schema'.", 'text.format.schema', 'missing_required_parameter');
      if (format.strict) {
        const problem = strictSchemaProblem(format.schema, format.name);
        if (problem) throw invalidRequest(problem, 'text.format.schema', 'invalid_json_schema');
      }
    }

    const chain: StoredResponse[] = [];
    let prev = rec.previousResponseId;
    while (prev !== null) {
      const earlier = stored.get(prev);
      if (!earlier || lost.has(prev)) {
        throw invalidRequest(`Previous response with id '${prev}' not found.`, 'previous_response_id', 'previous_response_not_found');
      }
      chain.unshift(earlier);
      prev = earlier.previousResponseId;
    }
    // Like function calls: an output must answer a call the thread knows (from the chain or resent in
    // this input), and a thread continued from a response with calls must answer every one of them.
    const resentCalls = Array.isArray(body.input)
      ? body.input.filter((i): i is Record<string, unknown> => isRecord(i) && i.type === 'apply_patch_call').map((i) => String(i.call_id))
      : [];
    const knownCalls = new Set([...chain.flatMap((r) => r.patchCallIds), ...resentCalls]);
    for (const o of rec.patchOutputs) {
      if (!knownCalls.has(o.call_id)) throw invalidRequest(`No tool call found for apply_patch call output with call_id ${o.call_id}.`, 'input');
    }
    const last = chain.at(-1);
    if (last) {
      const answered = new Set(rec.patchOutputs.map((o) => o.call_id));
      const missing = last.patchCallIds.find((id) => !answered.has(id));
      if (missing !== undefined) throw invalidRequest(`No tool output found for apply_patch call ${missing}.`, 'input');
    }
    rec.promptText = joinSegments([
      format ? JSON.stringify(format.schema) : null,
      rec.instructions,
      ...chain.flatMap((r) => [r.inputText, r.outputText]),
      rec.inputText,
    ]);
  };

  const describeChat = (rec: StandinRequest, body: Record<string, unknown>): void => {
    rec.model = typeof body.model === 'string' ? body.model : '';
    const messages = Array.isArray(body.messages) ? body.messages : [];
    const system: string[] = [];
    const other: string[] = [];
    const all: string[] = [];
    for (const m of messages) {
      if (!isRecord(m)) continue;
      const text = contentText(m.content);
      all.push(text);
      if (m.role === 'system' || m.role === 'developer') system.push(text);
      else other.push(text);
    }
    rec.instructions = system.length > 0 ? joinSegments(system) : null;
    rec.inputText = joinSegments(other);
    rec.tools = Array.isArray(body.tools) ? body.tools : [];
    const format = chatIgnoresResponseFormat ? null : chatFormat(body);
    rec.schemaName = format?.name ?? null;

    if (!rec.model) throw invalidRequest('you must provide a model parameter', null, null);
    if (!Array.isArray(body.messages)) throw invalidRequest("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
    if (messages.length === 0) throw invalidRequest("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
    if (body.stream === true) throw invalidRequest('The OpenAI stand-in does not support stream: true.', 'stream', 'unsupported_value');
    if (format) {
      if (!format.name) throw invalidRequest("Missing required parameter: 'response_format.json_schema.name'.", 'response_format.json_schema.name', 'missing_required_parameter');
      if (format.strict) {
        const problem = strictSchemaProblem(format.schema, format.name);
        if (problem) throw invalidRequest(problem, 'response_format', 'invalid_json_schema');
      }
    }
    rec.promptText = joinSegments([format ? JSON.stringify(format.schema) : null, ...all]);
  };

  const nextReply = async (rec: StandinRequest): Promise<StandinReply> => {
    const item = queue.length > 0 ? queue.shift() : responder;
    let reply: unknown;
    try {
      reply = typeof item === 'function' ? await item(rec) : item;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { error: { status: 500, message: `OpenAI stand-in responder threw: ${message}`, type: 'server_error' } };
    }
    if (!isReply(reply)) {
      return { error: { status: 500, message: `OpenAI stand-in got an invalid reply: ${JSON.stringify(reply)}`, type: 'server_error' } };
    }
    return reply;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const startedAt = now();
    const url = new URL(req.url ?? '/', 'http://standin');
    const path = url.pathname.replace(/\/+$/, '');
    const endpoint =
      req.method === 'POST' && path === '/v1/responses'
        ? 'responses'
        : req.method === 'POST' && path === '/v1/chat/completions'
          ? 'chat.completions'
          : null;
    const raw = await readBody(req);
    if (endpoint === null) {
      sendJson(res, 404, { error: { message: `Invalid URL (${req.method ?? 'GET'} ${url.pathname})`, type: 'invalid_request_error', param: null, code: null } });
      return;
    }

    let body: unknown = raw;
    let bodyIsJson = false;
    try {
      body = JSON.parse(raw);
      bodyIsJson = true;
    } catch {
      // keep the raw text
    }
    const rec: StandinRequest = {
      seq: ++seq,
      endpoint,
      body,
      headers: { ...req.headers },
      model: '',
      instructions: null,
      inputText: '',
      previousResponseId: null,
      schemaName: null,
      promptText: '',
      startedAt,
      endedAt: null,
      aborted: false,
      status: null,
      responseId: null,
      usage: null,
      outputText: null,
      tools: [],
      patchOutputs: [],
      cutShort: false,
    };
    requests.push(rec);

    const controller = new AbortController();
    inFlight.set(controller, { rec, res });
    res.on('finish', () => {
      rec.endedAt ??= now();
    });
    res.on('close', () => {
      inFlight.delete(controller);
      if (!res.writableFinished && !rec.cutShort) {
        rec.aborted = true;
        rec.endedAt ??= now();
      }
      controller.abort();
    });
    const fail = (e: HttpError, headers?: Record<string, string>): void => {
      rec.status = e.status;
      sendJson(res, e.status, { error: e.error }, headers);
    };

    const auth = req.headers.authorization;
    if (typeof auth !== 'string' || !/^Bearer\s+\S/i.test(auth)) {
      fail(new HttpError(401, { message: MISSING_KEY_MESSAGE, type: 'invalid_request_error', param: null, code: null }));
      return;
    }
    if (!bodyIsJson || !isRecord(body)) {
      fail(invalidRequest('We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)'));
      return;
    }

    try {
      if (endpoint === 'responses') describeResponses(rec, body);
      else describeChat(rec, body);
    } catch (err) {
      if (err instanceof HttpError) {
        fail(err);
        return;
      }
      throw err;
    }

    // The prompt's prefix is looked up when it arrives (so concurrent requests do not hit each
    // other's cache) and remembered only once the request has completed successfully.
    const promptTokens = Uint32Array.from(tokenize(rec.promptText));
    const lcp = cache.longestPrefix(rec.model, promptTokens);
    const cachedTokens = Math.min(lcp >= cacheMinTokens ? Math.floor(lcp / cacheStepTokens) * cacheStepTokens : 0, promptTokens.length);

    const reply = await nextReply(rec);
    const aborted = 'hang' in reply ? await wait(Infinity, controller.signal) : await wait(reply.delayMs ?? latencyMs, controller.signal);
    if (aborted || closing || res.destroyed) return;

    if ('error' in reply) {
      const e = reply.error;
      const auth = req.headers.authorization ?? '';
      const message = reply.echoAuthorization === true ? `${e.message} (request header Authorization: ${auth})` : e.message;
      fail(new HttpError(e.status, { message, type: e.type ?? defaultErrorType(e.status), param: e.param ?? null, code: e.code ?? null }), reply.headers);
      return;
    }
    if ('hang' in reply) return; // unreachable: a hang only ends by abort or close

    const misuse = (message: string): void => {
      fail(new HttpError(500, { message: `OpenAI stand-in: ${message}`, type: 'server_error', param: null, code: null }));
    };

    // What the "model" produced.
    let kind: 'answer' | 'failed' | 'incomplete' | 'empty' = 'answer';
    let text = '';
    let outputTokens = 0;
    let calls: Array<{ id: string; call_id: string; call: StandinPatchCall }> = [];
    let failure: { code: string; message: string } | null = null;
    let incompleteReason: string | null = null;
    if ('patchCalls' in reply) {
      if (endpoint !== 'responses') return misuse('patchCalls replies exist only on the Responses endpoint.');
      if (!offersApplyPatch(rec.tools)) {
        return misuse("a patchCalls reply needs a request with tools: [{ type: 'apply_patch' }] (a model cannot call a tool it was not given).");
      }
      text = reply.text ?? '';
      calls = reply.patchCalls.map((call) => ({ id: `apc_${hex(24)}`, call_id: `call_${hex(12)}`, call }));
      outputTokens = countTokens([text, ...calls.map((c) => patchCallText(operationOf(c.call)))].join('\n'));
    } else if ('failed' in reply) {
      if (endpoint !== 'responses') return misuse('failed replies exist only on the Responses endpoint (Chat Completions has no failed status).');
      kind = 'failed';
      failure = reply.failed;
    } else if ('incomplete' in reply) {
      kind = 'incomplete';
      incompleteReason = reply.incomplete.reason;
      text = reply.incomplete.text ?? '';
      outputTokens = countTokens(text);
    } else if ('emptyOutput' in reply) {
      kind = 'empty';
    } else if ('text' in reply) {
      text = reply.text;
      outputTokens = reply.outputTokens ?? countTokens(text);
    } else {
      text = JSON.stringify(reply.json) ?? 'null';
      outputTokens = countTokens(text);
    }

    let truncated = false;
    if (kind === 'answer' && calls.length === 0) {
      const maxRaw = endpoint === 'responses' ? body.max_output_tokens : (body.max_completion_tokens ?? body.max_tokens);
      const maxTokens = typeof maxRaw === 'number' ? maxRaw : null;
      if (maxTokens !== null && outputTokens > maxTokens) {
        truncated = true;
        const real = tokenize(text);
        if (real.length > maxTokens) text = decode(real.slice(0, maxTokens));
        outputTokens = maxTokens;
      }
    }

    const usage: StandinUsage | null = kind === 'failed' ? null : { inputTokens: promptTokens.length, cachedTokens, outputTokens };
    const createdAt = Math.floor(Date.now() / 1000);
    let payload: Record<string, unknown>;
    let id: string;
    if (endpoint === 'responses') {
      id = `resp_${hex(24)}`;
      const status = kind === 'failed' ? 'failed' : kind === 'incomplete' || truncated ? 'incomplete' : 'completed';
      const output: unknown[] = [];
      if (kind === 'incomplete') {
        output.push(text ? messageItem(text, 'incomplete') : { type: 'reasoning', id: `rs_${hex(24)}`, summary: [] });
      } else if (kind === 'answer') {
        if (calls.length === 0 || text) output.push(messageItem(text, truncated ? 'incomplete' : 'completed'));
        for (const c of calls) output.push({ type: 'apply_patch_call', id: c.id, call_id: c.call_id, status: 'completed', operation: operationOf(c.call) });
      }
      payload = responsesPayload({
        id,
        body,
        rec,
        status,
        output,
        error: failure,
        incompleteReason: incompleteReason ?? (truncated ? 'max_output_tokens' : null),
        usage,
        createdAt,
      });
      if (body.store !== false && kind !== 'failed') {
        const outputText = joinSegments([text, ...calls.map((c) => patchCallText(operationOf(c.call)))]);
        stored.set(id, { id, model: rec.model, input: body.input, inputText: rec.inputText, outputText, previousResponseId: rec.previousResponseId, patchCallIds: calls.map((c) => c.call_id) });
      }
    } else {
      id = `chatcmpl-${hex(15)}`;
      const finish = kind === 'incomplete' ? (incompleteReason === 'content_filter' ? 'content_filter' : 'length') : truncated ? 'length' : 'stop';
      payload = chatPayload({ id, body, text, finish, noChoices: kind === 'empty', usage: usage ?? { inputTokens: 0, cachedTokens: 0, outputTokens: 0 }, createdAt });
    }
    if (reply.omitUsage === true) delete payload.usage;
    if (kind !== 'failed') cache.remember(rec.model, promptTokens);
    rec.responseId = id;
    rec.usage = usage;
    rec.outputText = text;
    rec.status = 200;
    await deliver(res, rec, payload, { 'openai-processing-ms': String(Math.round(now() - startedAt)) }, reply, controller.signal);
  };

  /** Sends a 200 JSON body whole, dripped over time, or cut short (see StandinDelivery). */
  const deliver = async (
    res: ServerResponse,
    rec: StandinRequest,
    payload: unknown,
    headers: Record<string, string>,
    d: StandinDelivery,
    signal: AbortSignal,
  ): Promise<void> => {
    const dripMs = d.dripMs ?? 0;
    if (d.cutAfterBytes === undefined && dripMs <= 0) {
      sendJson(res, 200, payload, headers);
      return;
    }
    const bytes = Buffer.from(JSON.stringify(payload));
    const sendLength = d.cutAfterBytes === undefined ? bytes.length : Math.max(0, Math.min(d.cutAfterBytes, bytes.length));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length), 'x-request-id': `req_${hex(16)}`, ...headers });
    res.flushHeaders();
    const chunks = dripMs > 0 ? Math.max(1, Math.floor(d.dripChunks ?? 10)) : 1;
    const size = Math.max(1, Math.ceil(sendLength / chunks));
    for (let off = 0; off < sendLength; off += size) {
      if (dripMs > 0 && (await wait(dripMs / chunks, signal))) return;
      if (res.destroyed) return;
      res.write(bytes.subarray(off, Math.min(off + size, sendLength)));
    }
    if (d.cutAfterBytes === undefined) {
      res.end();
      return;
    }
    // Close the connection once what was written has left, so the client reads a body cut short.
    await new Promise<void>((resolve) => res.write('', () => resolve()));
    rec.cutShort = true;
    rec.endedAt ??= now();
    res.destroy();
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      sendJson(res, 500, { error: { message: `OpenAI stand-in failed: ${message}`, type: 'server_error', param: null, code: null } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const standin: OpenAIStandin = {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    setResponder(r) {
      responder = r;
    },
    script(...replies) {
      queue.push(...replies);
    },
    reset() {
      requests.length = 0;
      seq = 0;
      queue = [];
      stored.clear();
      lost.clear();
      cache.clear();
    },
    loseResponse(id) {
      lost.add(id);
    },
    forgetResponses() {
      stored.clear();
    },
    async close() {
      if (closing) return;
      closing = true;
      // Requests still waiting (delays, hangs) end here: their connections are destroyed below.
      for (const [c, { rec, res }] of inFlight) {
        if (!res.writableFinished) {
          rec.aborted = true;
          rec.endedAt ??= now();
        }
        c.abort();
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return standin;
}

/** The `operation` of an apply_patch_call item, in the wire shape of the Responses API. */
function operationOf(c: StandinPatchCall): Record<string, unknown> {
  if (c.type === 'delete_file') return { type: 'delete_file', path: c.path };
  const op: Record<string, unknown> = { type: c.type, path: c.path, diff: c.diff ?? '' };
  if (c.type === 'update_file' && c.moveTo !== undefined) op.move_to = c.moveTo;
  return op;
}

function messageItem(text: string, status: 'completed' | 'incomplete'): unknown {
  return {
    type: 'message',
    id: `msg_${hex(24)}`,
    status,
    role: 'assistant',
    content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
  };
}

function responsesPayload(a: {
  id: string;
  body: Record<string, unknown>;
  rec: StandinRequest;
  status: 'completed' | 'incomplete' | 'failed';
  output: unknown[];
  error: { code: string; message: string } | null;
  incompleteReason: string | null;
  usage: StandinUsage | null;
  createdAt: number;
}): Record<string, unknown> {
  const { body } = a;
  const textConfig = isRecord(body.text) ? body.text : {};
  return {
    id: a.id,
    object: 'response',
    created_at: a.createdAt,
    status: a.status,
    background: body.background ?? false,
    completed_at: a.status === 'completed' ? a.createdAt : null,
    error: a.error,
    incomplete_details: a.incompleteReason ? { reason: a.incompleteReason } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: body.max_tool_calls ?? null,
    model: a.rec.model,
    output: a.output,
    parallel_tool_calls: body.parallel_tool_calls ?? false,
    previous_response_id: a.rec.previousResponseId,
    prompt_cache_key: body.prompt_cache_key ?? null,
    prompt_cache_retention: body.prompt_cache_retention ?? null,
    reasoning: body.reasoning ?? { effort: null, summary: null },
    safety_identifier: body.safety_identifier ?? null,
    service_tier: body.service_tier ?? 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? null,
    text: { ...textConfig, format: isRecord(textConfig.format) ? textConfig.format : { type: 'text' }, verbosity: textConfig.verbosity ?? 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_logprobs: body.top_logprobs ?? 0,
    top_p: body.top_p ?? null,
    truncation: body.truncation ?? 'disabled',
    usage: a.usage
      ? {
          input_tokens: a.usage.inputTokens,
          input_tokens_details: { cached_tokens: a.usage.cachedTokens },
          output_tokens: a.usage.outputTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: a.usage.inputTokens + a.usage.outputTokens,
        }
      : null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

function chatPayload(a: {
  id: string;
  body: Record<string, unknown>;
  text: string;
  finish: 'stop' | 'length' | 'content_filter';
  /** Answer `choices: []`, as some proxies do. */
  noChoices: boolean;
  usage: StandinUsage;
  createdAt: number;
}): Record<string, unknown> {
  return {
    id: a.id,
    object: 'chat.completion',
    created: a.createdAt,
    model: a.body.model,
    choices: a.noChoices
      ? []
      : [
          {
            index: 0,
            message: { role: 'assistant', content: a.text, refusal: null, annotations: [] },
            finish_reason: a.finish,
            logprobs: null,
          },
        ],
    usage: {
      prompt_tokens: a.usage.inputTokens,
      completion_tokens: a.usage.outputTokens,
      total_tokens: a.usage.inputTokens + a.usage.outputTokens,
      prompt_tokens_details: { cached_tokens: a.usage.cachedTokens, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
    service_tier: a.body.service_tier ?? 'default',
    system_fingerprint: null,
  };
}

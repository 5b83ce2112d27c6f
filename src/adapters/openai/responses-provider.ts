// ModelProvider over the OpenAI Responses API, through the official SDK. The SDK is loaded and the
// client built on the first call: `new OpenAI()` throws without a key, and the server must start
// (and list its tools) without one. Every way a call can end other than with a real answer becomes a
// ModelCallError (see ModelProvider in src/core/ports.ts for the contract).
//
// The apply_patch tool (OpenAI's guide "Apply Patch", developers.openai.com/api/docs/guides/tools-apply-patch,
// and the SDK's types ApplyPatchTool, ResponseApplyPatchToolCall, ResponseInputItem.ApplyPatchCallOutput):
// offered as tools [{ type: 'apply_patch' }]; edits come back as `apply_patch_call` output items, and
// their outcomes go back as `apply_patch_call_output` input items of a request that continues the
// response (previous_response_id).
import type OpenAIClient from 'openai';
import type { Response, ResponseApplyPatchToolCall, ResponseCreateParamsNonStreaming, ResponseInputItem } from 'openai/resources/responses/responses';
import { ModelCallError } from '../../core/errors.js';
import type { PatchOperation } from '../../core/patch/v4a.js';
import type { ModelProvider, ModelRequest, ModelResponse, PatchCall, ProviderCapabilities } from '../../core/ports.js';
import type { Usage } from '../../core/types.js';
import { redactSecrets } from '../redact.js';
import { DEFAULT_SETTING_NAMES, lazyClient, OUTPUT_CAP_HINT, sendWithin, type CallContext, type OpenAIProviderOptions, type Sdk } from './sdk-client.js';

/** Re-exported so callers of this provider need not know the shared SDK module. */
export type { OpenAIProviderOptions, SdkLogger } from './sdk-client.js';

/**
 * The Responses API provider (the default for both roles). Capabilities: threads kept by the API
 * (previous_response_id), prompt_cache_key / prompt_cache_retention, strict json_schema output, the
 * apply_patch tool. Usage: as the response reports it (input, cached input, output tokens).
 *
 * Errors (ModelCallError): no_api_key (no key: ready(), and every call), and those of describeSdkError
 * (sdk-client.ts: aborted, timeout, network, auth, quota, rate_limit, server, thread_lost,
 * tool_unsupported, bad_request, bad_response); from the response itself, all billed: incomplete (cut
 * off, e.g. at max_output_tokens), failed (a status other than completed), refused, empty, and
 * bad_response for an apply_patch call it cannot read. thread_lost also for a Codex CLI thread id
 * (the role's provider was switched).
 */
export class OpenAIResponsesProvider implements ModelProvider {
  readonly capabilities: ProviderCapabilities = { serverThreads: true, promptCacheControls: true, structuredOutput: true, applyPatchTool: true };
  private readonly secrets: readonly string[];
  private readonly load: () => Promise<{ sdk: Sdk; client: OpenAIClient }>;

  constructor(private readonly opts: OpenAIProviderOptions) {
    this.secrets = [...(opts.secrets ?? []), ...(opts.apiKey ? [opts.apiKey] : [])];
    this.load = lazyClient(opts, () => opts.apiKey ?? '');
  }

  /** Throws ModelCallError no_api_key when no key is set: no call can succeed (see ModelProvider.ready). */
  ready(): void {
    if (!this.opts.apiKey) {
      const names = this.opts.settingNames ?? DEFAULT_SETTING_NAMES;
      throw new ModelCallError(
        'no_api_key',
        `${names.apiKey} is not set, so planexec cannot call a model.`,
        `Add ${names.apiKey} (and ${names.baseURL} for another OpenAI-compatible endpoint) to the env of the planexec entry in your MCP host config, then restart the server.`,
      );
    }
  }

  private connect(): Promise<{ sdk: Sdk; client: OpenAIClient }> {
    this.ready();
    return this.load();
  }

  /**
   * Loads the SDK and fetch and builds the client ahead of the first call (about 100 ms on Node 20), so the
   * first model call of a session does not pay for it. Does nothing without an API key.
   */
  async warm(): Promise<void> {
    if (!this.opts.apiKey) return;
    await this.connect();
    // Node loads its fetch implementation on first access; the SDK sends every request with it.
    void globalThis.fetch;
  }

  /** One responses.create call within PLANEXEC_MODEL_TIMEOUT_MS; the error contract is ModelProvider's (see the class). */
  async generate(req: ModelRequest): Promise<ModelResponse> {
    const { sdk, client } = await this.connect();
    if (req.previousResponseId?.startsWith('codex:')) {
      // A Codex CLI thread (src/adapters/codex/codex-provider.ts), from before this role's provider was
      // switched: the API would refuse the id as malformed (400), not as a lost thread.
      throw new ModelCallError('thread_lost', `The planner's thread is a Codex CLI thread, which the Responses API cannot continue.`, 'planexec sends the thread again from its own record.');
    }
    if (req.patchOutputs?.length && !req.previousResponseId) {
      // The outcomes answer calls of the response they continue; sent without it the API refuses them.
      throw new ModelCallError('bad_request', 'The outcomes of apply_patch calls were to be sent without the response that made the calls (no previous response id).', 'This is a bug in planexec: please report it.');
    }
    const body: ResponseCreateParamsNonStreaming = {
      model: req.model,
      instructions: req.instructions,
      input: inputOf(req),
      prompt_cache_key: req.cacheKey,
    };
    if (req.previousResponseId) body.previous_response_id = req.previousResponseId;
    if (req.applyPatch) body.tools = [{ type: 'apply_patch' }];
    if (req.format) body.text = { format: { type: 'json_schema', name: req.format.name, schema: req.format.schema, strict: true } };
    if (req.cacheRetention) body.prompt_cache_retention = req.cacheRetention;
    if (req.maxOutputTokens !== undefined) body.max_output_tokens = req.maxOutputTokens;
    const ctx: CallContext = { req, opts: this.opts, api: 'the Responses API', secrets: this.secrets };
    const response = await sendWithin(sdk, ctx, (signal) => client.responses.create(body, { signal }));
    return this.answerOf(response, req);
  }

  /** The answer of a response, or the ModelCallError that says why it is not one. */
  private answerOf(response: Response, req: ModelRequest): ModelResponse {
    const usage = usageOf(response);
    const billed = { billed: true, usage, responseId: response.id ?? null };
    if (response.status === 'incomplete') {
      const why = response.incomplete_details?.reason ?? 'unknown reason';
      throw new ModelCallError(
        'incomplete',
        `${req.model} stopped before finishing its answer (${why}).`,
        why === 'max_output_tokens' ? OUTPUT_CAP_HINT : 'Retry; if it repeats, rephrase the subtask.',
        billed,
      );
    }
    if (response.status !== 'completed' && response.status !== undefined) {
      const detail = response.error ? `${response.error.code}: ${this.clean(response.error.message)}` : `status ${response.status}`;
      throw new ModelCallError('failed', `${req.model} did not answer (${detail}).`, 'Retry in a minute; if it repeats, check the provider\'s status page.', billed);
    }
    const parts = response.output.flatMap((item) => (item.type === 'message' ? item.content : []));
    const refusal = parts.find((part) => part.type === 'refusal');
    if (refusal && refusal.type === 'refusal') {
      throw new ModelCallError('refused', `${req.model} refused: ${this.clean(refusal.refusal)}`, 'Rephrase the request or subtask.', billed);
    }
    const text = response.output_text ?? '';
    const patchCalls = req.applyPatch ? patchCallsOf(response, req.model, billed) : undefined;
    if (!text.trim() && !patchCalls?.length) {
      throw new ModelCallError('empty', `${req.model} answered with no text.`, 'Retry; if it repeats, rephrase the subtask or try another model.', billed);
    }
    return patchCalls ? { responseId: response.id ?? null, text, patchCalls, usage } : { responseId: response.id ?? null, text, usage };
  }

  private clean(text: string): string {
    return redactSecrets(text, this.secrets);
  }
}

/**
 * The request's input: its text; the outcomes of the previous response's apply_patch calls followed
 * by the text as a user message (left out when empty); or, with a thread sent along, the conversation
 * ending with it.
 */
function inputOf(req: ModelRequest): string | ResponseInputItem[] {
  if (req.patchOutputs?.length) {
    const items: ResponseInputItem[] = req.patchOutputs.map((o) => ({ type: 'apply_patch_call_output', call_id: o.callId, status: o.status, output: o.output }));
    if (req.input) items.push({ role: 'user', content: req.input });
    return items;
  }
  if (req.previousResponseId || !req.history?.length) return req.input;
  const items: ResponseInputItem[] = [];
  for (const turn of req.history) {
    items.push({ role: 'user', content: turn.input }, { role: 'assistant', content: turn.output });
  }
  items.push({ role: 'user', content: req.input });
  return items;
}

function usageOf(response: Response): Usage | null {
  const u = response.usage;
  if (!u) return null;
  return { input_tokens: u.input_tokens ?? 0, cached_tokens: u.input_tokens_details?.cached_tokens ?? 0, output_tokens: u.output_tokens ?? 0 };
}

/**
 * The apply_patch_call items of a response, in output order, as PatchCalls: `diff` is '' for
 * delete_file, `moveTo` comes from the operation's `move_to` (not in the SDK's types). An item
 * without a call id, path or known operation type is a ModelCallError 'bad_response' (billed).
 */
function patchCallsOf(response: Response, model: string, billed: { billed: boolean; usage: Usage | null; responseId: string | null }): PatchCall[] {
  const calls: PatchCall[] = [];
  for (const item of response.output) {
    if (item.type !== 'apply_patch_call') continue;
    const op = (item as Partial<ResponseApplyPatchToolCall>).operation as (Record<string, unknown> & { type?: unknown }) | undefined;
    const type = op?.type;
    const known = type === 'create_file' || type === 'update_file' || type === 'delete_file';
    const diff = type === 'delete_file' ? '' : op?.diff;
    if (typeof item.call_id !== 'string' || !item.call_id || !known || typeof op?.path !== 'string' || !op.path || typeof diff !== 'string') {
      throw new ModelCallError(
        'bad_response',
        `${model} sent an apply_patch call planexec cannot read (operation type ${JSON.stringify(type ?? null)}): a call needs a call_id, a create_file, update_file or delete_file operation, a path, and a diff unless it deletes.`,
        'Retry; if it repeats, check the endpoint (OPENAI_BASE_URL) and any proxy in between.',
        billed,
      );
    }
    const operation: PatchOperation = { type, path: op.path, diff };
    if (type === 'update_file' && typeof op.move_to === 'string' && op.move_to) operation.moveTo = op.move_to;
    calls.push({ callId: item.call_id, operation });
  }
  return calls;
}


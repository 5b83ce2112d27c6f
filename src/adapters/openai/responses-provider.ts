// ModelProvider over the OpenAI Responses API, through the official SDK. The SDK is loaded and the
// client built on the first call: `new OpenAI()` throws without a key, and the server must start
// (and list its tools) without one. Every way a call can end other than with a real answer becomes a
// ModelCallError (see ModelProvider in src/core/ports.ts for the contract).
import type OpenAIClient from 'openai';
import type { Response, ResponseCreateParamsNonStreaming, ResponseInputItem } from 'openai/resources/responses/responses';
import { ModelCallError } from '../../core/errors.js';
import type { ModelProvider, ModelRequest, ModelResponse, ProviderCapabilities } from '../../core/ports.js';
import type { Usage } from '../../core/types.js';
import { redactSecrets } from '../redact.js';

type Sdk = typeof import('openai');

/** What the SDK logs through (OPENAI_LOG): it must never reach stdout, which carries MCP. */
export interface SdkLogger {
  error(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  debug(message: string, ...rest: unknown[]): void;
}

export interface OpenAIProviderOptions {
  apiKey: string | undefined;
  baseURL: string | undefined;
  /** Bounds the whole call, the answer's body included, in ms. */
  timeoutMs: number;
  /** The SDK's own retries on 408/409/429/5xx and connection errors. */
  maxRetries: number;
  /** Where the SDK's logs go (default: nowhere). */
  logger?: SdkLogger;
  /** Secret values to keep out of every message (the key is always among them). */
  secrets?: readonly string[];
}

/** The provider's own message when previous_response_id names a response it does not have. */
const THREAD_LOST = /previous response with id .* not found/i;

export class OpenAIResponsesProvider implements ModelProvider {
  readonly capabilities: ProviderCapabilities = { serverThreads: true, promptCacheControls: true, structuredOutput: true };
  private sdk: Promise<{ sdk: Sdk; client: OpenAIClient }> | null = null;
  private readonly secrets: readonly string[];

  constructor(private readonly opts: OpenAIProviderOptions) {
    this.secrets = [...(opts.secrets ?? []), ...(opts.apiKey ? [opts.apiKey] : [])];
  }

  ready(): void {
    if (!this.opts.apiKey) {
      throw new ModelCallError(
        'no_api_key',
        'OPENAI_API_KEY is not set, so planexec cannot call a model.',
        'Add OPENAI_API_KEY (and OPENAI_BASE_URL for another OpenAI-compatible endpoint) to the env of the planexec entry in your MCP host config, then restart the server.',
      );
    }
  }

  private connect(): Promise<{ sdk: Sdk; client: OpenAIClient }> {
    this.ready();
    this.sdk ??= import('openai').then((sdk) => ({
      sdk,
      client: new sdk.default({
        apiKey: this.opts.apiKey,
        baseURL: this.opts.baseURL ?? null,
        timeout: this.opts.timeoutMs,
        maxRetries: this.opts.maxRetries,
        // The SDK logs to console (stdout) unless given a logger; OPENAI_LOG=debug would put request
        // bodies on the MCP stream.
        logger: this.opts.logger ?? SILENT,
      }),
    }));
    return this.sdk;
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

  async generate(req: ModelRequest): Promise<ModelResponse> {
    const { sdk, client } = await this.connect();
    const body: ResponseCreateParamsNonStreaming = {
      model: req.model,
      instructions: req.instructions,
      input: inputOf(req),
      prompt_cache_key: req.cacheKey,
    };
    if (req.previousResponseId) body.previous_response_id = req.previousResponseId;
    if (req.format) body.text = { format: { type: 'json_schema', name: req.format.name, schema: req.format.schema, strict: true } };
    if (req.cacheRetention) body.prompt_cache_retention = req.cacheRetention;
    if (req.maxOutputTokens !== undefined) body.max_output_tokens = req.maxOutputTokens;

    // The SDK's timeout stops counting once the headers are in; this one covers the body too. (A
    // plain controller, not AbortSignal.any: the listener on the caller's signal keeps it alive.)
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('timed out'));
    }, this.opts.timeoutMs);
    const onAbort = () => controller.abort(req.signal?.reason);
    if (req.signal?.aborted) onAbort();
    else req.signal?.addEventListener('abort', onAbort, { once: true });
    let response: Response;
    try {
      response = await client.responses.create(body, { signal: controller.signal });
    } catch (error) {
      throw this.describe(sdk, error, req, timedOut);
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    }
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
        why === 'max_output_tokens'
          ? 'Raise the output cap for this role (PLANEXEC_PLANNER_MAX_OUTPUT_TOKENS / PLANEXEC_EXECUTOR_MAX_OUTPUT_TOKENS) or split the subtask.'
          : 'Retry; if it repeats, rephrase the subtask.',
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
    if (!text.trim()) {
      throw new ModelCallError('empty', `${req.model} answered with no text.`, 'Retry; if it repeats, rephrase the subtask or try another model.', billed);
    }
    return { responseId: response.id ?? null, text, usage };
  }

  private describe(sdk: Sdk, error: unknown, req: ModelRequest, timedOut: boolean): ModelCallError {
    const retries = this.opts.maxRetries;
    const after = retries > 0 ? ` (after ${retries} ${retries === 1 ? 'retry' : 'retries'})` : '';
    const endpoint = this.opts.baseURL ?? 'https://api.openai.com/v1';
    if (req.signal?.aborted) {
      return new ModelCallError('aborted', `The ${req.model} call was cancelled.`, 'Nothing was lost: call the tool again to retry.', { billed: true });
    }
    if (timedOut || error instanceof sdk.APIConnectionTimeoutError) {
      return new ModelCallError(
        'timeout',
        `The ${req.model} call timed out: no complete answer within ${seconds(this.opts.timeoutMs)} (PLANEXEC_MODEL_TIMEOUT_MS).`,
        'Retry; for long subtasks raise PLANEXEC_MODEL_TIMEOUT_MS.',
        { billed: true },
      );
    }
    if (error instanceof sdk.APIConnectionError) {
      return new ModelCallError('network', `Could not reach the model endpoint ${endpoint}${after}.`, 'Check network access and OPENAI_BASE_URL.');
    }
    if (error instanceof sdk.AuthenticationError || error instanceof sdk.PermissionDeniedError) {
      return new ModelCallError(
        'auth',
        `The model endpoint ${endpoint} rejected the API key (HTTP ${error.status}).`,
        'Check OPENAI_API_KEY (and OPENAI_BASE_URL) in the env of the planexec entry in your MCP host config, then restart the server.',
      );
    }
    if (error instanceof sdk.RateLimitError) {
      if (error.code === 'insufficient_quota') {
        return new ModelCallError('quota', 'The OpenAI account is out of quota (HTTP 429 insufficient_quota).', 'Check the billing and usage limits of the account behind OPENAI_API_KEY.');
      }
      return new ModelCallError('rate_limit', `${req.model} is rate-limited (HTTP 429)${after}.`, 'Wait a minute and retry; if it persists, check the rate limits of your OpenAI plan.');
    }
    if (error instanceof sdk.InternalServerError) {
      return new ModelCallError('server', `The model endpoint failed with HTTP ${error.status}${after}.`, 'Retry in a minute; if it persists, check status.openai.com.');
    }
    if (error instanceof sdk.APIError) {
      const message = this.clean(error.message);
      if (req.previousResponseId && (error.code === 'previous_response_not_found' || THREAD_LOST.test(message))) {
        return new ModelCallError('thread_lost', `The model endpoint no longer has the planner's thread (${message}).`, 'planexec sends the thread again from its own record.');
      }
      return new ModelCallError(
        'bad_request',
        `The model endpoint refused the request (HTTP ${error.status ?? '?'}): ${message}`,
        `Check the model name ('${req.model}', PLANEXEC_PLANNER_MODEL / PLANEXEC_EXECUTOR_MODEL) and that ${endpoint} supports the Responses API.`,
      );
    }
    // What is left reached us after the request was sent: a body cut short, JSON that does not
    // parse, a connection reset mid-answer. The provider probably billed it.
    const why = error instanceof Error ? `${error.name}: ${this.clean(error.message)}` : this.clean(String(error));
    return new ModelCallError('bad_response', `The model endpoint ${endpoint} sent a response planexec could not read (${why}).`, 'Retry; if it repeats, check OPENAI_BASE_URL and any proxy in between.', { billed: true });
  }

  private clean(text: string): string {
    return redactSecrets(text, this.secrets);
  }
}

const SILENT = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

/** The request's input: its text, or, with a thread sent along, the conversation ending with it. */
function inputOf(req: ModelRequest): string | ResponseInputItem[] {
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

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

// ModelProvider over the OpenAI Responses API, through the official SDK. The SDK is loaded and the
// client built on the first call: `new OpenAI()` throws without a key, and the server must start
// (and list its tools) without one.
import type OpenAIClient from 'openai';
import type { ResponseCreateParamsNonStreaming } from 'openai/resources/responses/responses';
import { modelOutputInvalid, ModelUnavailableError } from '../../core/errors.js';
import type { ModelProvider, ModelRequest, ModelResponse } from '../../core/ports.js';

type Sdk = typeof import('openai');

export interface OpenAIProviderOptions {
  apiKey: string | undefined;
  baseURL: string | undefined;
  timeoutMs: number;
  maxRetries: number;
}

export class OpenAIResponsesProvider implements ModelProvider {
  private sdk: Promise<{ sdk: Sdk; client: OpenAIClient }> | null = null;

  constructor(private readonly opts: OpenAIProviderOptions) {}

  ready(): void {
    if (!this.opts.apiKey) {
      throw new ModelUnavailableError(
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
      input: req.input,
      prompt_cache_key: req.cacheKey,
    };
    if (req.previousResponseId) body.previous_response_id = req.previousResponseId;
    if (req.format) body.text = { format: { type: 'json_schema', name: req.format.name, schema: req.format.schema, strict: true } };
    if (req.cacheRetention) body.prompt_cache_retention = req.cacheRetention;
    if (req.maxOutputTokens !== undefined) body.max_output_tokens = req.maxOutputTokens;

    let response;
    try {
      response = await client.responses.create(body, { signal: req.signal });
    } catch (error) {
      throw this.describe(sdk, error, req);
    }
    if (response.status === 'incomplete') {
      const why = response.incomplete_details?.reason ?? 'unknown reason';
      throw modelOutputInvalid(
        `${req.model} stopped before finishing its answer (${why}).`,
        why === 'max_output_tokens'
          ? 'Raise the output cap for this role (see the configuration table in the README) or split the subtask.'
          : 'Retry; if it repeats, rephrase the subtask.',
      );
    }
    const refusal = response.output
      .flatMap((item) => (item.type === 'message' ? item.content : []))
      .find((part) => part.type === 'refusal');
    if (refusal && refusal.type === 'refusal') {
      throw modelOutputInvalid(`${req.model} refused: ${refusal.refusal}`, 'Rephrase the request or subtask.');
    }
    return {
      responseId: response.id,
      text: response.output_text,
      usage: {
        input_tokens: response.usage?.input_tokens ?? 0,
        cached_tokens: response.usage?.input_tokens_details?.cached_tokens ?? 0,
        output_tokens: response.usage?.output_tokens ?? 0,
      },
    };
  }

  private describe(sdk: Sdk, error: unknown, req: ModelRequest): Error {
    const retries = this.opts.maxRetries;
    const after = retries > 0 ? ` (after ${retries} ${retries === 1 ? 'retry' : 'retries'})` : '';
    const endpoint = this.opts.baseURL ?? 'https://api.openai.com/v1';
    if (error instanceof sdk.APIUserAbortError || req.signal?.aborted) {
      return new ModelUnavailableError('aborted', `The ${req.model} call was cancelled.`, 'Nothing was lost: call the tool again to retry.');
    }
    if (error instanceof sdk.APIConnectionTimeoutError) {
      return new ModelUnavailableError(
        'timeout',
        `The ${req.model} call timed out after ${seconds(this.opts.timeoutMs)}${after}.`,
        'Retry; for long subtasks raise PLANEXEC_MODEL_TIMEOUT_MS.',
      );
    }
    if (error instanceof sdk.APIConnectionError) {
      return new ModelUnavailableError('network', `Could not reach the model endpoint ${endpoint}${after}.`, 'Check network access and OPENAI_BASE_URL.');
    }
    if (error instanceof sdk.AuthenticationError || error instanceof sdk.PermissionDeniedError) {
      return new ModelUnavailableError(
        'auth',
        `The model endpoint ${endpoint} rejected the API key (HTTP ${error.status}).`,
        'Check OPENAI_API_KEY (and OPENAI_BASE_URL) in the env of the planexec entry in your MCP host config, then restart the server.',
      );
    }
    if (error instanceof sdk.RateLimitError) {
      const quota = error.code === 'insufficient_quota';
      return new ModelUnavailableError(
        'rate_limit',
        quota ? `The OpenAI account is out of quota (HTTP 429 insufficient_quota).` : `${req.model} is rate-limited (HTTP 429)${after}.`,
        quota ? 'Check the billing and usage limits of the account behind OPENAI_API_KEY.' : 'Wait a minute and retry; if it persists, check the rate limits of your OpenAI plan.',
      );
    }
    if (error instanceof sdk.InternalServerError) {
      return new ModelUnavailableError('server', `The model endpoint failed with HTTP ${error.status}${after}.`, 'Retry in a minute; if it persists, check status.openai.com.');
    }
    if (error instanceof sdk.APIError) {
      return new ModelUnavailableError(
        'bad_request',
        `The model endpoint refused the request (HTTP ${error.status ?? '?'}): ${scrub(error.message)}`,
        `Check PLANEXEC_PLANNER_MODEL / PLANEXEC_EXECUTOR_MODEL ('${req.model}') and that ${endpoint} supports the Responses API.`,
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

/** Provider messages can quote part of a key ("sk-ab***yz"); never pass that on. */
export function scrub(message: string): string {
  return message.replace(/(?<![A-Za-z0-9])(sk|sess|rk)-[A-Za-z0-9_*-]{3,}/g, '$1-***');
}

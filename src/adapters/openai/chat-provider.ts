// ModelProvider over Chat Completions, through the official SDK: any OpenAI-compatible server (Ollama,
// vLLM, LM Studio, OpenRouter, LiteLLM) as well as OpenAI itself. Chat Completions keeps no thread, so
// every call sends the conversation: the instructions as the system message, the thread planexec
// keeps (`history`), then the new input. Errors follow the same contract and mapping as the
// Responses adapter (sdk-client.ts).
import type OpenAIClient from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions/completions';
import { ModelCallError } from '../../core/errors.js';
import type { ModelProvider, ModelRequest, ModelResponse, ProviderCapabilities } from '../../core/ports.js';
import type { Usage } from '../../core/types.js';
import { redactSecrets } from '../redact.js';
import { DEFAULT_SETTING_NAMES, isOpenAIEndpoint, lazyClient, OUTPUT_CAP_HINT, sendWithin, type CallContext, type OpenAIProviderOptions, type Sdk } from './sdk-client.js';

/**
 * The key sent to a server given by base URL when no key is set. The SDK refuses to build a client
 * without a key, and local servers (Ollama, LM Studio, vLLM without --api-key) ignore the header.
 */
export const LOCAL_PLACEHOLDER_KEY = 'local';

/**
 * Chat Completions provider. Capabilities: no server threads (`history` is resent as messages),
 * structured output through `response_format: json_schema` (strict), and prompt-cache controls only on
 * OpenAI's own endpoint: `prompt_cache_key` / `prompt_cache_retention` are sent there and nowhere else,
 * since some compatible servers reject fields they do not know (NVIDIA NIM's "extra_forbidden", LiteLLM
 * before it learned the field). For the same reason the output cap goes out as `max_completion_tokens`
 * to OpenAI (its reasoning models refuse `max_tokens`) and as `max_tokens` elsewhere (Ollama and
 * LM Studio read only that one; vLLM, OpenRouter and LiteLLM take both).
 */
export class OpenAIChatProvider implements ModelProvider {
  readonly capabilities: ProviderCapabilities;
  private readonly secrets: readonly string[];
  private readonly openai: boolean;
  private readonly load: () => Promise<{ sdk: Sdk; client: OpenAIClient }>;

  constructor(private readonly opts: OpenAIProviderOptions) {
    this.openai = isOpenAIEndpoint(opts.baseURL);
    this.capabilities = { serverThreads: false, promptCacheControls: this.openai, structuredOutput: true, applyPatchTool: false };
    this.secrets = [...(opts.secrets ?? []), ...(opts.apiKey ? [opts.apiKey] : [])];
    this.load = lazyClient(opts, () => this.key() ?? '');
  }

  /** The key to send: the one set, or LOCAL_PLACEHOLDER_KEY for a server given by base URL. */
  private key(): string | undefined {
    return this.opts.apiKey || (this.opts.baseURL ? LOCAL_PLACEHOLDER_KEY : undefined);
  }

  /** Throws ModelCallError no_api_key when neither a key nor a base URL is set (OpenAI itself needs a key). */
  ready(): void {
    if (this.key()) return;
    const names = this.opts.settingNames ?? DEFAULT_SETTING_NAMES;
    throw new ModelCallError(
      'no_api_key',
      `${names.apiKey} is not set, so planexec cannot call a model on ${this.opts.baseURL ?? 'the OpenAI API'}.`,
      `Add ${names.apiKey} to the env of the planexec entry in your MCP host config, or set ${names.baseURL} to a local Chat Completions server (Ollama, vLLM, LM Studio) that needs no key, then restart the server.`,
    );
  }

  /** Loads the SDK and builds the client ahead of the first call. Does nothing when ready() would throw. */
  async warm(): Promise<void> {
    if (!this.key()) return;
    await this.load();
    void globalThis.fetch;
  }

  async generate(req: ModelRequest): Promise<ModelResponse> {
    this.ready();
    if (req.previousResponseId && !req.history?.length) {
      // Nothing here keeps a thread: without the turns, the model would answer out of context.
      throw new ModelCallError('thread_lost', 'Chat Completions keeps no thread, and the request continues one without sending it.', 'planexec sends the thread again from its own record.');
    }
    const { sdk, client } = await this.load();
    const body: ChatCompletionCreateParamsNonStreaming = { model: req.model, messages: messagesOf(req), stream: false };
    if (req.format) body.response_format = { type: 'json_schema', json_schema: { name: req.format.name, schema: req.format.schema, strict: true } };
    if (req.maxOutputTokens !== undefined) {
      if (this.openai) body.max_completion_tokens = req.maxOutputTokens;
      else body.max_tokens = req.maxOutputTokens;
    }
    if (this.openai) {
      body.prompt_cache_key = req.cacheKey;
      if (req.cacheRetention) body.prompt_cache_retention = req.cacheRetention;
    }
    const ctx: CallContext = { req, opts: this.opts, api: 'Chat Completions (/v1/chat/completions)', secrets: this.secrets };
    const completion = await sendWithin(sdk, ctx, (signal) => client.chat.completions.create(body, { signal }));
    return this.answerOf(completion, req);
  }

  /**
   * The answer of a completion, or the ModelCallError that says why it is not one. responseId is null:
   * a completion's id continues nothing, and a chatcmpl- id sent to a provider with threads (after the
   * role's provider was switched) would be refused instead of read as a lost thread.
   */
  private answerOf(completion: ChatCompletion, req: ModelRequest): ModelResponse {
    const usage = usageOf(completion);
    const billed = { billed: true, usage };
    const choice = completion.choices?.[0];
    if (!choice) {
      throw new ModelCallError('empty', `${req.model} answered with no choices.`, 'Retry; if it repeats, check the server or proxy behind the base URL.', billed);
    }
    const message = choice.message;
    if (message?.refusal) {
      throw new ModelCallError('refused', `${req.model} refused: ${this.clean(message.refusal)}`, 'Rephrase the request or subtask.', billed);
    }
    if (choice.finish_reason === 'content_filter') {
      throw new ModelCallError('refused', `${req.model} stopped: the server's content filter withheld the answer.`, 'Rephrase the request or subtask.', billed);
    }
    if (choice.finish_reason === 'length') {
      throw new ModelCallError('incomplete', `${req.model} stopped before finishing its answer (length).`, OUTPUT_CAP_HINT, billed);
    }
    const text = typeof message?.content === 'string' ? message.content : '';
    if (!text.trim()) {
      throw new ModelCallError('empty', `${req.model} answered with no text.`, 'Retry; if it repeats, rephrase the subtask or try another model.', billed);
    }
    return { responseId: null, text, usage };
  }

  private clean(text: string): string {
    return redactSecrets(text, this.secrets);
  }
}

/** system (the instructions), then each earlier turn as user/assistant, then the new input as user. */
function messagesOf(req: ModelRequest): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: req.instructions }];
  for (const turn of req.history ?? []) messages.push({ role: 'user', content: turn.input }, { role: 'assistant', content: turn.output });
  messages.push({ role: 'user', content: req.input });
  return messages;
}

/** prompt_tokens / prompt_tokens_details.cached_tokens / completion_tokens; null when the server sent none. */
function usageOf(completion: ChatCompletion): Usage | null {
  const u = completion.usage;
  if (!u || typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return null;
  const cached = u.prompt_tokens_details?.cached_tokens;
  return { input_tokens: u.prompt_tokens, cached_tokens: typeof cached === 'number' ? cached : 0, output_tokens: u.completion_tokens };
}

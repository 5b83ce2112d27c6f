// One place that turns a provider kind (PLANEXEC_PLANNER_PROVIDER / PLANEXEC_EXECUTOR_PROVIDER) and its
// settings into a ModelProvider, for the composition root; and what each kind offers, for the docs.
import type { ModelProvider } from '../core/ports.js';
import { CodexCliProvider, type CodexLogger } from './codex/codex-provider.js';
import { OpenAIChatProvider } from './openai/chat-provider.js';
import { OpenAIResponsesProvider } from './openai/responses-provider.js';
import type { SdkLogger, SettingNames } from './openai/sdk-client.js';

/** The fixed names of PRODUCT.md, "Providers". */
export const PROVIDER_KINDS = ['responses', 'chat', 'codex'] as const;
/** One of PROVIDER_KINDS. */
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** Settings of one role's provider; each kind reads the ones it needs (see PROVIDER_SETTINGS). */
export interface ProviderOptions {
  /** PLANEXEC_MODEL_TIMEOUT_MS: bounds every call, the whole answer included (every kind). */
  timeoutMs: number;
  /** Secret values to keep out of messages (every kind; the API key is always added). */
  secrets?: readonly string[];
  /** responses, chat: PLANEXEC_<ROLE>_API_KEY, else OPENAI_API_KEY. */
  apiKey?: string | undefined;
  /** responses, chat: PLANEXEC_<ROLE>_BASE_URL, else OPENAI_BASE_URL. */
  baseURL?: string | undefined;
  /** responses, chat: the SDK's own retries (PLANEXEC_MAX_RETRIES). */
  maxRetries?: number;
  /** responses, chat: the names of the two settings above as the user set them, for messages. */
  settingNames?: SettingNames;
  /** responses, chat: where the SDK logs (stderr); never stdout. */
  sdkLogger?: SdkLogger;
  /** codex: PLANEXEC_CODEX_BIN (default 'codex' on PATH). */
  codexBin?: string | undefined;
  /** codex: the environment the CLI starts from (default process.env; always scrubbed). */
  env?: Record<string, string | undefined>;
  /** codex: folder for pid files of running CLIs (crash recovery with killRecordedGroups). */
  pidDir?: string;
  /** codex: where its notices go (stderr). */
  codexLogger?: CodexLogger;
}

/** A provider and what the composition root does with it around the calls. */
export interface ProviderHandle {
  kind: ProviderKind;
  provider: ModelProvider;
  /** Loads what the first call needs ahead of it (the SDK and its client); resolves at once where there is nothing. */
  warm(): Promise<void>;
  /** Ends calls still running in child processes (codex: SIGTERM, SIGKILL after a grace) and waits; at server stop. */
  stop(): Promise<void>;
  /** SIGKILL to those child processes at once, synchronously: for process.on('exit'). */
  stopNow(): void;
}

/**
 * Builds the provider of `kind` from `options`. One per role (the roles may use different kinds).
 * Never throws for missing settings: the provider's ready() / first call reports them (a key that is
 * not set, a Codex CLI that is not installed), so the server starts and lists its tools regardless.
 */
export function createModelProvider(kind: ProviderKind, options: ProviderOptions): ProviderHandle {
  const none = async () => undefined;
  if (kind === 'codex') {
    const codex = new CodexCliProvider({
      timeoutMs: options.timeoutMs,
      ...(options.codexBin ? { bin: options.codexBin } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.pidDir ? { pidDir: options.pidDir } : {}),
      ...(options.codexLogger ? { logger: options.codexLogger } : {}),
      ...(options.secrets ? { secrets: options.secrets } : {}),
    });
    return { kind, provider: codex, warm: none, stop: () => codex.dispose(), stopNow: () => codex.killAllNow() };
  }
  const sdkOptions = {
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    timeoutMs: options.timeoutMs,
    maxRetries: options.maxRetries ?? 2,
    ...(options.sdkLogger ? { logger: options.sdkLogger } : {}),
    ...(options.secrets ? { secrets: options.secrets } : {}),
    ...(options.settingNames ? { settingNames: options.settingNames } : {}),
  };
  const provider = kind === 'chat' ? new OpenAIChatProvider(sdkOptions) : new OpenAIResponsesProvider(sdkOptions);
  return { kind, provider, warm: () => provider.warm(), stop: none, stopNow: () => undefined };
}

/** What a provider kind offers and needs: the README's provider table. */
export interface ProviderDescription {
  /** What it talks to. */
  wire: string;
  /** The settings it reads. */
  settings: string;
  /** How the planner's thread is kept. */
  threads: string;
  /** Prompt caching. */
  caching: string;
  /** Structured output (plans, reviews). */
  structuredOutput: string;
  /** How executors' edits arrive (PRODUCT.md, "Changes"). */
  edits: string;
  /** Where the cost and quota figures come from. */
  cost: string;
}

/**
 * What each kind talks to, reads, and how it keeps threads, caches, answers in JSON, edits and is priced:
 * the README's provider table is this object (test/unit/readme-providers.test.ts keeps the two the same).
 */
export const PROVIDER_SETTINGS: Readonly<Record<ProviderKind, ProviderDescription>> = {
  responses: {
    wire: 'OpenAI Responses API (`openai` SDK), or any endpoint that serves /v1/responses',
    settings:
      '`PLANEXEC_<ROLE>_BASE_URL` (default `OPENAI_BASE_URL`), `PLANEXEC_<ROLE>_API_KEY` (default `OPENAI_API_KEY` on `OPENAI_BASE_URL`\'s server; a key is required), `PLANEXEC_MODEL_TIMEOUT_MS`, `PLANEXEC_MAX_RETRIES`',
    threads: 'kept by the provider (previous_response_id); resent from planexec\'s record if the provider lost it',
    caching: 'prompt_cache_key per role, prompt_cache_retention 24h where the model allows',
    structuredOutput: 'text.format json_schema, strict',
    edits: 'the apply_patch tool (V4A diffs); a model that refuses the tool writes a V4A patch in its answer text instead',
    cost: 'usage the API reports per response (input, cached, output tokens), priced with the price table',
  },
  chat: {
    wire: 'Chat Completions (`openai` SDK): Ollama, vLLM, LM Studio, OpenRouter, LiteLLM, OpenAI',
    settings:
      '`PLANEXEC_<ROLE>_BASE_URL` (default `OPENAI_BASE_URL`), `PLANEXEC_<ROLE>_API_KEY` (default `OPENAI_API_KEY` on `OPENAI_BASE_URL`\'s server; a local server given by base URL needs none), `PLANEXEC_MODEL_TIMEOUT_MS`, `PLANEXEC_MAX_RETRIES`',
    threads: 'kept by planexec (in its database) and resent as messages on every planner call, compacted by the same rules',
    caching: 'the server\'s own prefix cache; prompt_cache_key / prompt_cache_retention only on api.openai.com',
    structuredOutput: 'response_format json_schema, strict; servers that ignore it get one repair round',
    edits: 'a V4A patch in the answer text',
    cost: 'usage the server reports (prompt_tokens, prompt_tokens_details.cached_tokens, completion_tokens; estimated when it reports none), priced with the price table; a model not in it costs $0 on a loopback or private base URL (Ollama, LM Studio), and is unpriced elsewhere until added under "prices"',
  },
  codex: {
    wire: 'the Codex CLI (`codex exec --json`) on the user\'s ChatGPT sign-in: the subscription\'s quota',
    settings: '`PLANEXEC_CODEX_BIN` (default `codex` on PATH; sign in once with `codex login`), `PLANEXEC_MODEL_TIMEOUT_MS`',
    threads: 'Codex threads continued with `exec resume`; rebuilt from planexec\'s record (in the prompt) when the CLI lost one',
    caching: 'automatic: the thread id is the cache key (planner threads hit it; one-shot executor calls may not)',
    structuredOutput: '--output-schema (strict json_schema)',
    edits: 'a V4A patch in the answer text (the CLI runs read-only; planexec applies edits)',
    cost: 'turn.completed usage (the thread\'s running totals, diffed per call); billed to the ChatGPT plan, so its calls count quota units and no USD',
  },
};

// What the two providers over the official `openai` SDK (Responses, Chat Completions) share: their
// options, the lazily built client, the deadline that bounds a whole call (the SDK's own timeout stops
// counting once the headers are in), and the mapping of every SDK error to a ModelCallError (see
// ModelProvider in src/core/ports.ts for the contract).
import { BlockList, isIP } from 'node:net';
import type OpenAIClient from 'openai';
import { ModelCallError } from '../../core/errors.js';
import type { ModelRequest } from '../../core/ports.js';
import { redactSecrets } from '../redact.js';

/** The `openai` module, loaded on the first call. */
export type Sdk = typeof import('openai');

/** What the SDK logs through (OPENAI_LOG): it must never reach stdout, which carries MCP. */
export interface SdkLogger {
  error(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  debug(message: string, ...rest: unknown[]): void;
}

/** The settings a user changes to fix a key or endpoint problem; error messages and hints name them. */
export interface SettingNames {
  /** e.g. 'OPENAI_API_KEY', or 'PLANEXEC_EXECUTOR_API_KEY' for a role's own key. */
  apiKey: string;
  /** e.g. 'OPENAI_BASE_URL', or 'PLANEXEC_EXECUTOR_BASE_URL'. */
  baseURL: string;
}

/** What messages name when the composition root gives no role-specific settings. */
export const DEFAULT_SETTING_NAMES: SettingNames = { apiKey: 'OPENAI_API_KEY', baseURL: 'OPENAI_BASE_URL' };

/** Options of the two SDK providers (Responses, Chat Completions), built per role by providers.ts. */
export interface OpenAIProviderOptions {
  apiKey: string | undefined;
  /** The endpoint, e.g. http://localhost:11434/v1; undefined: https://api.openai.com/v1. */
  baseURL: string | undefined;
  /** Bounds the whole call, the answer's body included, in ms. */
  timeoutMs: number;
  /** The SDK's own retries on 408/409/429/5xx and connection errors. */
  maxRetries: number;
  /** Where the SDK's logs go (default: nowhere). */
  logger?: SdkLogger;
  /** Secret values to keep out of every message (the key is always among them). */
  secrets?: readonly string[];
  /** The settings messages name (default OPENAI_API_KEY / OPENAI_BASE_URL). */
  settingNames?: SettingNames;
}

/** The SDK's default endpoint, named in messages when no base URL is set. */
export const OPENAI_ENDPOINT = 'https://api.openai.com/v1';

/** The hint of an answer cut off at the output cap. */
export const OUTPUT_CAP_HINT = 'Raise the output cap for this role (PLANEXEC_PLANNER_MAX_OUTPUT_TOKENS / PLANEXEC_EXECUTOR_MAX_OUTPUT_TOKENS) or split the subtask.';

const SILENT: SdkLogger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

/**
 * True when `baseURL` is OpenAI's own API (absent, or host api.openai.com): the only endpoint whose
 * extensions (prompt_cache_key, max_completion_tokens) planexec relies on for Chat Completions.
 */
export function isOpenAIEndpoint(baseURL: string | undefined): boolean {
  if (!baseURL) return true;
  try {
    return new URL(baseURL).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

/** Loopback, private (RFC 1918, RFC 4193), link-local and carrier-grade NAT ranges: servers on this machine or the user's network. */
const PRIVATE_RANGES = (() => {
  const list = new BlockList();
  for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) list.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of [['::1', 128], ['::', 128], ['fc00::', 7], ['fe80::', 10]] as const) list.addSubnet(net, prefix, 'ipv6');
  return list;
})();

/**
 * True when `baseURL` names a server on this machine or a private network: `localhost` (and
 * `*.localhost`), or an IP address in a loopback, private, link-local or CGNAT range (127/8, 10/8,
 * 172.16/12, 192.168/16, 169.254/16, 100.64/10, ::1, fc00::/7, fe80::/10). Host names are not
 * resolved (no DNS at start-up): `http://ollama:11434` or `gpu-box.lan` count as not local. False for
 * no URL (OpenAI's) or one that does not parse. Used for the cost rule of local chat models.
 */
export function isPrivateEndpoint(baseURL: string | undefined): boolean {
  if (!baseURL) return false;
  let host: string;
  try {
    host = new URL(baseURL).hostname.toLowerCase();
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family === 0) return false;
  return PRIVATE_RANGES.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The SDK and a client over `apiKey`, loaded and built on the first call and kept: `new OpenAI()`
 * throws without a key, and the server must start (and list its tools) without one. Returns a
 * function that resolves to the same pair every time.
 */
export function lazyClient(opts: OpenAIProviderOptions, apiKey: () => string): () => Promise<{ sdk: Sdk; client: OpenAIClient }> {
  let loaded: Promise<{ sdk: Sdk; client: OpenAIClient }> | null = null;
  return () => {
    loaded ??= import('openai').then((sdk) => ({
      sdk,
      client: new sdk.default({
        apiKey: apiKey(),
        baseURL: opts.baseURL ?? null,
        timeout: opts.timeoutMs,
        maxRetries: opts.maxRetries,
        // The SDK logs to console (stdout) unless given a logger; OPENAI_LOG=debug would put request
        // bodies on the MCP stream.
        logger: opts.logger ?? SILENT,
      }),
    }));
    return loaded;
  };
}

/** What the error mapping needs to know about the call and the provider that made it. */
export interface CallContext {
  req: ModelRequest;
  opts: OpenAIProviderOptions;
  /** For the bad-request hint: 'the Responses API' or 'Chat Completions'. */
  api: string;
  secrets: readonly string[];
}

/**
 * Runs `send` with a signal that aborts at `opts.timeoutMs` (the whole answer, body included) or when
 * the request's signal aborts, and maps whatever it throws with describeSdkError. A plain controller,
 * not AbortSignal.any: the listener that any() leaves on the caller's signal keeps it alive.
 */
export async function sendWithin<T>(sdk: Sdk, ctx: CallContext, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { req, opts } = ctx;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timed out'));
  }, opts.timeoutMs);
  const onAbort = () => controller.abort(req.signal?.reason);
  if (req.signal?.aborted) onAbort();
  else req.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await send(controller.signal);
  } catch (error) {
    throw describeSdkError(sdk, error, ctx, timedOut);
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  }
}

/** The provider's own message when previous_response_id names a response it does not have. */
const THREAD_LOST = /previous response with id .* not found/i;

/**
 * Does a 400/422 say the model does not take the apply_patch tool the request offered? OpenAI answers
 * "Tool 'apply_patch' is not supported with <model>." (type invalid_request_error, param 'tools'; its
 * hosted tools said "Hosted tool '<name>' is not supported with <model>."). OpenAI-compatible servers
 * refuse the tool type ("Invalid value: 'apply_patch'. Supported values are: …", param tools[0].type)
 * or tools altogether ("<model> does not support tools", as Ollama says). Refusals of the
 * apply_patch_call_output items (call ids, outputs) are planexec's own mistakes and do not count.
 */
export function refusesApplyPatch(status: number | undefined, message: string, param: string | null | undefined): boolean {
  if (status !== 400 && status !== 422) return false;
  if (/\bcall[_ ]?id\b|call output|tool output/i.test(message)) return false;
  const refusal = /not supported|unsupported|does not support|invalid value|unknown|not (?:available|enabled|allowed)/i;
  if (typeof param === 'string' && /^tools(?:$|[[.])/.test(param) && refusal.test(message)) return true;
  if (/apply_patch/i.test(message) && refusal.test(message)) return true;
  return /does not support tools|\btools? (?:is|are) not supported/i.test(message);
}

/**
 * The ModelCallError for an error the SDK threw (or a deadline hit: `timedOut`). Reasons: aborted,
 * timeout (both billed), network, auth, quota, rate_limit, server, thread_lost (only for a request
 * that continues a thread), tool_unsupported (only for a request offering apply_patch; see
 * refusesApplyPatch), bad_request, and bad_response (billed) for a body that could not be read.
 * Messages name the endpoint and the settings to check, never a secret.
 */
export function describeSdkError(sdk: Sdk, error: unknown, ctx: CallContext, timedOut: boolean): ModelCallError {
  const { req, opts } = ctx;
  const names = opts.settingNames ?? DEFAULT_SETTING_NAMES;
  const clean = (text: string) => redactSecrets(text, ctx.secrets);
  const retries = opts.maxRetries;
  const after = retries > 0 ? ` (after ${retries} ${retries === 1 ? 'retry' : 'retries'})` : '';
  const endpoint = opts.baseURL ?? OPENAI_ENDPOINT;
  if (req.signal?.aborted) {
    return new ModelCallError('aborted', `The ${req.model} call was cancelled.`, 'Nothing was lost: call the tool again to retry.', { billed: true });
  }
  if (timedOut || error instanceof sdk.APIConnectionTimeoutError) {
    return new ModelCallError(
      'timeout',
      `The ${req.model} call timed out: no complete answer within ${seconds(opts.timeoutMs)} (PLANEXEC_MODEL_TIMEOUT_MS).`,
      'Retry; for long subtasks raise PLANEXEC_MODEL_TIMEOUT_MS.',
      { billed: true },
    );
  }
  if (error instanceof sdk.APIConnectionError) {
    return new ModelCallError('network', `Could not reach the model endpoint ${endpoint}${after}.`, `Check network access and ${names.baseURL}.`);
  }
  if (error instanceof sdk.AuthenticationError || error instanceof sdk.PermissionDeniedError) {
    return new ModelCallError(
      'auth',
      `The model endpoint ${endpoint} rejected the API key (HTTP ${error.status}).`,
      `Check ${names.apiKey} (and ${names.baseURL}) in the env of the planexec entry in your MCP host config, then restart the server.`,
    );
  }
  if (error instanceof sdk.RateLimitError) {
    if (error.code === 'insufficient_quota') {
      return new ModelCallError('quota', 'The OpenAI account is out of quota (HTTP 429 insufficient_quota).', `Check the billing and usage limits of the account behind ${names.apiKey}.`);
    }
    return new ModelCallError('rate_limit', `${req.model} is rate-limited (HTTP 429)${after}.`, 'Wait a minute and retry; if it persists, check the rate limits of your plan.');
  }
  if (error instanceof sdk.InternalServerError) {
    const status = isOpenAIEndpoint(opts.baseURL) ? 'check status.openai.com' : `check the server at ${endpoint}`;
    return new ModelCallError('server', `The model endpoint failed with HTTP ${error.status}${after}.`, `Retry in a minute; if it persists, ${status}.`);
  }
  if (error instanceof sdk.APIError) {
    const message = clean(error.message);
    if (req.previousResponseId && (error.code === 'previous_response_not_found' || THREAD_LOST.test(message))) {
      return new ModelCallError('thread_lost', `The model endpoint no longer has the planner's thread (${message}).`, 'planexec sends the thread again from its own record.');
    }
    if (req.applyPatch && refusesApplyPatch(error.status, message, error.param)) {
      return new ModelCallError(
        'tool_unsupported',
        `${req.model} does not take the apply_patch tool (HTTP ${error.status ?? '?'}): ${message.replace(/^\d{3} /, '')}`,
        'planexec asks this model for its edits as a patch in its answer text instead.',
      );
    }
    return new ModelCallError(
      'bad_request',
      `The model endpoint refused the request (HTTP ${error.status ?? '?'}): ${message}`,
      `Check the model name ('${req.model}', PLANEXEC_PLANNER_MODEL / PLANEXEC_EXECUTOR_MODEL) and that ${endpoint} supports ${ctx.api}.`,
    );
  }
  // What is left reached us after the request was sent: a body cut short, JSON that does not
  // parse, a connection reset mid-answer. The provider probably billed it.
  const why = error instanceof Error ? `${error.name}: ${clean(error.message)}` : clean(String(error));
  return new ModelCallError(
    'bad_response',
    `The model endpoint ${endpoint} sent a response planexec could not read (${why}).`,
    `Retry; if it repeats, check ${names.baseURL} and any proxy in between.`,
    { billed: true },
  );
}

/** A duration for a message: "150 ms" below a second, else seconds to one decimal ("2.5 s"). */
export function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

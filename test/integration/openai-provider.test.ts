// OpenAIResponsesProvider through the real openai SDK against the local stand-in: what goes on the
// wire, what comes back, and how every failure maps to a ModelCallError with a useful hint.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAIResponsesProvider, type OpenAIProviderOptions } from '../../src/adapters/openai/responses-provider.js';
import { redactSecrets } from '../../src/adapters/redact.js';
import { ModelCallError, PlanexecError, type ModelFailure } from '../../src/core/errors.js';
import type { ModelRequest } from '../../src/core/ports.js';
import { startOpenAIStandin, type OpenAIStandin, type StandinReply } from '../support/openai-standin.js';

const API_KEY = 'sk-abc123SECRETxyz';

let standin: OpenAIStandin;

beforeAll(async () => {
  standin = await startOpenAIStandin();
});

afterAll(async () => {
  await standin.close();
});

beforeEach(() => {
  standin.reset();
});

function provider(opts: Partial<OpenAIProviderOptions> = {}): OpenAIResponsesProvider {
  return new OpenAIResponsesProvider({ apiKey: API_KEY, baseURL: standin.baseURL, timeoutMs: 10_000, maxRetries: 0, ...opts });
}

function request(over: Partial<ModelRequest> = {}): ModelRequest {
  return { model: 'gpt-5.4-mini', role: 'executor', instructions: 'You are the executor.', input: 'Write the User type.', cacheKey: 'planexec-executor', ...over };
}

const ANSWER_SCHEMA = {
  type: 'object',
  properties: { answer: { type: 'string' } },
  required: ['answer'],
  additionalProperties: false,
};

/** The error a generate() call rejects with (fails the test when it resolves). */
async function failure(p: Promise<unknown>): Promise<PlanexecError> {
  const outcome = await p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(PlanexecError);
  return outcome.error as PlanexecError;
}

async function unavailable(p: Promise<unknown>, reason: ModelFailure): Promise<ModelCallError> {
  const error = await failure(p);
  expect(error).toBeInstanceOf(ModelCallError);
  expect((error as ModelCallError).reason).toBe(reason);
  expect(error.details.reason).toBe(reason);
  return error as ModelCallError;
}

/** Everything about an error a caller could print or log. */
const everything = (e: PlanexecError): string => [e.message, e.hint, JSON.stringify(e.details), String(e.stack), JSON.stringify(e)].join('\n');

const fast = { headers: { 'retry-after-ms': '0' } };
const apiError = (status: number, message: string, code?: string): StandinReply => ({ error: { status, message, code: code ?? null }, ...fast });

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

describe('the request on the wire', () => {
  it('sends model, instructions, input and prompt_cache_key, and nothing optional that was not asked for', async () => {
    standin.script({ text: 'ok' });
    await provider().generate(request());
    expect(standin.requests).toHaveLength(1);
    const body = standin.requests[0]?.body as Record<string, unknown>;
    expect(body).toEqual({
      model: 'gpt-5.4-mini',
      instructions: 'You are the executor.',
      input: 'Write the User type.',
      prompt_cache_key: 'planexec-executor',
    });
  });

  it('sends previous_response_id, a strict json_schema text.format, prompt_cache_retention and max_output_tokens when given', async () => {
    standin.script({ text: 'first' }, { json: { answer: 'yes' } });
    const first = await provider().generate(request({ model: 'gpt-5.4', role: 'planner' }));
    await provider().generate(
      request({
        model: 'gpt-5.4',
        role: 'planner',
        previousResponseId: first.responseId,
        format: { name: 'answer', schema: ANSWER_SCHEMA },
        cacheRetention: '24h',
        maxOutputTokens: 2048,
        cacheKey: 'planexec-planner',
      }),
    );
    expect(standin.requests[1]?.body).toEqual({
      model: 'gpt-5.4',
      instructions: 'You are the executor.',
      input: 'Write the User type.',
      prompt_cache_key: 'planexec-planner',
      previous_response_id: first.responseId,
      text: { format: { type: 'json_schema', name: 'answer', schema: ANSWER_SCHEMA, strict: true } },
      prompt_cache_retention: '24h',
      max_output_tokens: 2048,
    });
    expect(standin.requests[1]?.previousResponseId).toBe(first.responseId);
    expect(standin.requests[1]?.schemaName).toBe('answer');
  });

  it('sends the in-memory cache retention as given', async () => {
    standin.script({ text: 'ok' });
    await provider().generate(request({ cacheRetention: 'in-memory' }));
    expect(standin.requests[0]?.body.prompt_cache_retention).toBe('in-memory');
  });

  it('leaves out previous_response_id when it is null', async () => {
    standin.script({ text: 'ok' });
    await provider().generate(request({ previousResponseId: null }));
    expect(standin.requests[0]?.body).not.toHaveProperty('previous_response_id');
  });

  it('sends the API key as a bearer token', async () => {
    standin.script({ text: 'ok' });
    await provider().generate(request());
    expect(standin.requests[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });
});

describe('the response', () => {
  it('returns the response id and the output text', async () => {
    standin.script({ text: 'export interface User { id: string }' });
    const response = await provider().generate(request());
    expect(response.text).toBe('export interface User { id: string }');
    expect(response.responseId).toBe(standin.requests[0]?.responseId);
    expect(response.responseId).toMatch(/^resp_/);
  });

  it('returns structured output as its JSON text', async () => {
    standin.script({ json: { answer: 'forty-two' } });
    const response = await provider().generate(request({ format: { name: 'answer', schema: ANSWER_SCHEMA } }));
    expect(JSON.parse(response.text)).toEqual({ answer: 'forty-two' });
  });

  it('maps usage: input_tokens, cached tokens from input_tokens_details, output_tokens', async () => {
    const cached = await startOpenAIStandin({ cacheMinTokens: 8, cacheStepTokens: 1 });
    try {
      const p = provider({ baseURL: cached.baseURL });
      const instructions = 'You are the executor. Follow the subtask exactly and answer with code only. '.repeat(4);
      cached.script({ text: 'one', outputTokens: 17 }, { text: 'two', outputTokens: 42 });
      await p.generate(request({ instructions, input: 'First subtask.' }));
      const second = await p.generate(request({ instructions, input: 'Second subtask.' }));

      const wire = cached.requests[1]?.usage;
      expect(wire?.cachedTokens).toBeGreaterThan(0);
      expect(wire?.cachedTokens).toBeLessThan(wire?.inputTokens ?? 0);
      expect(second.usage).toEqual({ input_tokens: wire?.inputTokens, cached_tokens: wire?.cachedTokens, output_tokens: 42 });
    } finally {
      await cached.close();
    }
  });

  it('reports zero cached tokens when nothing was cached', async () => {
    standin.script({ text: 'ok', outputTokens: 3 });
    const response = await provider().generate(request());
    expect(response.usage).toEqual({ input_tokens: standin.requests[0]?.usage?.inputTokens, cached_tokens: 0, output_tokens: 3 });
    expect(response.usage!.input_tokens).toBeGreaterThan(0);
  });

  it('refuses an incomplete answer cut at max_output_tokens as model_output_invalid, naming the cause', async () => {
    standin.script({ text: 'word '.repeat(200) });
    const error = await failure(provider().generate(request({ maxOutputTokens: 5 })));
    expect(error).toBeInstanceOf(ModelCallError);
    expect(error).toMatchObject({ code: 'model_output_invalid', reason: 'incomplete', billed: true });
    // What the provider billed for the cut answer comes with the error, for the journal.
    expect((error as ModelCallError).usage).toEqual({ input_tokens: standin.requests[0]?.usage?.inputTokens, cached_tokens: 0, output_tokens: 5 });
    expect(error.message).toContain('max_output_tokens');
    expect(error.message).toContain('gpt-5.4-mini');
    expect(error.hint).toMatch(/output cap/);
    expect(standin.requests[0]?.body.max_output_tokens).toBe(5);
  });
});

describe('failures', () => {
  it('without an API key fails with no_api_key naming OPENAI_API_KEY, and sends nothing', async () => {
    for (const apiKey of [undefined, '']) {
      const error = await unavailable(provider({ apiKey }).generate(request()), 'no_api_key');
      expect(error.code).toBe('model_unavailable');
      expect(error.message).toContain('OPENAI_API_KEY');
      expect(error.hint).toContain('OPENAI_API_KEY');
    }
    expect(standin.requests).toHaveLength(0);
  });

  it('maps 401 to auth, never repeating the key even when the server quotes part of it', async () => {
    standin.script(apiError(401, 'Incorrect API key provided: sk-abc123***xyz. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_api_key'));
    const error = await unavailable(provider().generate(request()), 'auth');
    expect(error.code).toBe('model_unavailable');
    expect(error.message).toContain('HTTP 401');
    expect(error.message).toContain(standin.baseURL);
    expect(error.hint).toContain('OPENAI_API_KEY');
    const text = everything(error);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('sk-abc123');
    expect(text).not.toContain('SECRET');
  });

  it('maps 403 to auth as well', async () => {
    standin.script(apiError(403, 'You are not allowed to use this model.'));
    const error = await unavailable(provider().generate(request()), 'auth');
    expect(error.message).toContain('HTTP 403');
  });

  it('maps 429 to rate_limit after exactly maxRetries + 1 requests, saying how many retries were made', async () => {
    const limited = apiError(429, 'Rate limit reached for requests', 'rate_limit_exceeded');
    standin.script(limited, limited, limited, { text: 'never reached' });
    const error = await unavailable(provider({ maxRetries: 2 }).generate(request()), 'rate_limit');
    expect(standin.requests).toHaveLength(3);
    expect(error.message).toContain('HTTP 429');
    expect(error.message).toContain('after 2 retries');
    expect(error.hint).toMatch(/rate limits/);
  });

  it('says "after 1 retry" in the singular', async () => {
    const limited = apiError(429, 'Rate limit reached for requests', 'rate_limit_exceeded');
    standin.script(limited, limited);
    const error = await unavailable(provider({ maxRetries: 1 }).generate(request()), 'rate_limit');
    expect(standin.requests).toHaveLength(2);
    expect(error.message).toContain('after 1 retry)');
  });

  it('succeeds when a retry gets through after a 429', async () => {
    standin.script(apiError(429, 'Rate limit reached for requests'), { text: 'second time lucky' });
    const response = await provider({ maxRetries: 2 }).generate(request());
    expect(response.text).toBe('second time lucky');
    expect(standin.requests).toHaveLength(2);
  });

  it('maps 429 insufficient_quota to quota with a message about quota and a hint about billing', async () => {
    standin.script(apiError(429, 'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota'));
    const error = await unavailable(provider().generate(request()), 'quota');
    expect(error.message).toMatch(/out of quota/);
    expect(error.message).toContain('insufficient_quota');
    expect(error.hint).toMatch(/billing/);
  });

  it.each([500, 503])('maps HTTP %i to server', async (status) => {
    standin.script(apiError(status, 'The server had an error while processing your request.'));
    const error = await unavailable(provider().generate(request()), 'server');
    expect(error.code).toBe('model_unavailable');
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).not.toContain('retr');
  });

  it('maps a call that outlives timeoutMs to timeout, pointing at PLANEXEC_MODEL_TIMEOUT_MS', async () => {
    standin.script({ text: 'too late', delayMs: 5_000 });
    const error = await unavailable(provider({ timeoutMs: 150 }).generate(request()), 'timeout');
    expect(error.code).toBe('model_unavailable');
    expect(error.message).toMatch(/timed out/);
    expect(error.hint).toContain('PLANEXEC_MODEL_TIMEOUT_MS');
    expect(standin.requests).toHaveLength(1);
    await until(() => standin.requests[0]?.aborted === true);
  });

  it('states a sub-second timeout as configured rather than rounding it to "0 s"', async () => {
    standin.script({ text: 'too late', delayMs: 5_000 });
    const error = await unavailable(provider({ timeoutMs: 150 }).generate(request()), 'timeout');
    expect(error.message).not.toContain('after 0 s');
    expect(error.message).toContain('150 ms');
  });

  it('maps a refused connection to network, naming the endpoint and OPENAI_BASE_URL', async () => {
    const baseURL = await closedPortURL();
    const error = await unavailable(provider({ baseURL }).generate(request()), 'network');
    expect(error.code).toBe('model_unavailable');
    expect(error.message).toContain(baseURL);
    expect(error.hint).toContain('OPENAI_BASE_URL');
  });

  it('maps an abort during the call to aborted with code cancelled, and the server sees the client go', async () => {
    standin.script({ hang: true });
    const controller = new AbortController();
    const pending = provider().generate(request({ signal: controller.signal }));
    await until(() => standin.requests.length === 1);
    controller.abort();
    const error = await unavailable(pending, 'aborted');
    expect(error.code).toBe('cancelled');
    expect(error.message).toMatch(/cancelled/);
    await until(() => standin.requests[0]?.aborted === true);
  });

  it('maps a signal aborted before the call to aborted with code cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await unavailable(provider().generate(request({ signal: controller.signal })), 'aborted');
    expect(error.code).toBe('cancelled');
  });

  it('maps 400 to bad_request, naming the model env vars and the model, with any key in the message masked', async () => {
    standin.script(apiError(400, "The model 'gpt-nope' does not exist; key sk-live-0123456789abcdef was used.", 'model_not_found'));
    const error = await unavailable(provider().generate(request({ model: 'gpt-nope' })), 'bad_request');
    expect(error.code).toBe('model_unavailable');
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain("The model 'gpt-nope' does not exist");
    expect(error.message).not.toContain('sk-live-0123456789abcdef');
    expect(error.message).toContain('sk-***');
    expect(error.hint).toContain('PLANEXEC_PLANNER_MODEL');
    expect(error.hint).toContain('PLANEXEC_EXECUTOR_MODEL');
    expect(error.hint).toContain("'gpt-nope'");
    expect(error.hint).toContain(standin.baseURL);
  });

  it('maps 404 to bad_request as well', async () => {
    standin.script(apiError(404, "The model 'gpt-nope' does not exist or you do not have access to it.", 'model_not_found'));
    const error = await unavailable(provider().generate(request({ model: 'gpt-nope' })), 'bad_request');
    expect(error.message).toContain('HTTP 404');
  });

  it('maps the endpoint refusing a non-strict schema to bad_request with its explanation', async () => {
    const loose = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const error = await unavailable(provider().generate(request({ format: { name: 'loose', schema: loose } })), 'bad_request');
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain("'additionalProperties' is required");
  });

  it('retries nothing when maxRetries is 0', async () => {
    standin.script(apiError(500, 'boom'), { text: 'not reached' });
    await unavailable(provider().generate(request()), 'server');
    expect(standin.requests).toHaveLength(1);
  });
});

describe('redactSecrets', () => {
  it.each([
    ['Incorrect API key provided: sk-abc123***xyz.', 'Incorrect API key provided: sk-***.'],
    ['key sk-proj-AbC_d-9Zz0 rejected', 'key sk-*** rejected'],
    ['session sess-abcdef and restricted rk-live-1234', 'session sess-*** and restricted rk-***'],
    ['Authorization: Bearer sk-0123456789abcdef0123456789abcdef', 'Authorization: Bearer [redacted]'],
    ['echoed header: Bearer azkey-7f3e9a2b1c (invalid)', 'echoed header: Bearer [redacted] (invalid)'],
  ])('masks keys in %j', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('masks the configured secret values themselves, whatever their shape', async () => {
    expect(redactSecrets('invalid key azkey9f8e7d6c5b4a, try again', ['azkey9f8e7d6c5b4a'])).toBe('invalid key [redacted], try again');
  });

  it('leaves words that merely contain "sk-" or "rk-" alone', async () => {
    const text = 'A risk-free task-runner with a dark-mode toggle.';
    expect(redactSecrets(text)).toBe(text);
  });
});

/** A base URL on a port nothing listens on (bound, then closed). */
async function closedPortURL(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

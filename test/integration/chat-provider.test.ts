// OpenAIChatProvider through the real openai SDK against the local stand-in's Chat Completions wire:
// what goes out, what comes back, how each failure maps; then through the core, with the roles on
// different providers (planner on Responses, executor on Chat Completions; both on chat), a planner
// thread kept by planexec and resent as messages, and a server that ignores response_format.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_PLACEHOLDER_KEY, OpenAIChatProvider } from '../../src/adapters/openai/chat-provider.js';
import { OpenAIResponsesProvider } from '../../src/adapters/openai/responses-provider.js';
import { isOpenAIEndpoint, type OpenAIProviderOptions } from '../../src/adapters/openai/sdk-client.js';
import { DEFAULT_PRICES, priceUsage } from '../../src/core/cost.js';
import type { CoreDeps } from '../../src/core/deps.js';
import { ModelCallError, PlanexecError } from '../../src/core/errors.js';
import type { ModelProvider, ModelRequest } from '../../src/core/ports.js';
import { executeSubtask } from '../../src/core/usecases/execute-subtask.js';
import { planTask } from '../../src/core/usecases/plan-task.js';
import { reviewResults } from '../../src/core/usecases/review-results.js';
import { workflowStatus } from '../../src/core/usecases/workflow-status.js';
import { modelFailure } from '../support/model-failure.js';
import { startOpenAIStandin, type OpenAIStandin, type StandinReply, type StandinRequest } from '../support/openai-standin.js';
import { plan, workflowResponder } from '../support/responders.js';
import { makeDeps, type TestDeps } from '../unit/core-deps.js';

const API_KEY = 'sk-chat0123456789SECRET';

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

function chat(opts: Partial<OpenAIProviderOptions> = {}, on: OpenAIStandin = standin): OpenAIChatProvider {
  return new OpenAIChatProvider({ apiKey: API_KEY, baseURL: on.baseURL, timeoutMs: 10_000, maxRetries: 0, ...opts });
}

function request(over: Partial<ModelRequest> = {}): ModelRequest {
  return { model: 'qwen3-coder', role: 'executor', instructions: 'You are the executor.', input: 'Write the User type.', cacheKey: 'planexec-executor', ...over };
}

const ANSWER_SCHEMA = {
  type: 'object',
  properties: { answer: { type: 'string' } },
  required: ['answer'],
  additionalProperties: false,
};

const fast = { headers: { 'retry-after-ms': '0' } };
const apiError = (status: number, message: string, code?: string): StandinReply => ({ error: { status, message, code: code ?? null }, ...fast });

const bodyOf = (i = 0) => standin.requests[i]?.body as Record<string, unknown>;

describe('the Chat Completions request on the wire', () => {
  it('sends the instructions as the system message and the input as the user message, streaming off, and nothing optional that was not asked for', async () => {
    standin.script({ text: 'ok' });
    await chat().generate(request());
    expect(standin.requests).toHaveLength(1);
    expect(standin.requests[0]!.endpoint).toBe('chat.completions');
    expect(bodyOf()).toEqual({
      model: 'qwen3-coder',
      messages: [
        { role: 'system', content: 'You are the executor.' },
        { role: 'user', content: 'Write the User type.' },
      ],
      stream: false,
    });
  });

  it('sends the thread planexec keeps as user/assistant messages between the system message and the new input', async () => {
    standin.script({ text: 'ok' });
    const history = [
      { input: 'Plan the login page.', output: '{"subtasks":[]}' },
      { input: 'Fix the plan.', output: '{"subtasks":[1]}' },
    ];
    await chat().generate(request({ role: 'planner', history, input: 'Review s1.' }));
    expect(bodyOf().messages).toEqual([
      { role: 'system', content: 'You are the executor.' },
      { role: 'user', content: 'Plan the login page.' },
      { role: 'assistant', content: '{"subtasks":[]}' },
      { role: 'user', content: 'Fix the plan.' },
      { role: 'assistant', content: '{"subtasks":[1]}' },
      { role: 'user', content: 'Review s1.' },
    ]);
  });

  it('asks for structured output with a strict json_schema response_format, and the answer is the JSON text', async () => {
    standin.script({ json: { answer: 'forty-two' } });
    const response = await chat().generate(request({ format: { name: 'answer', schema: ANSWER_SCHEMA } }));
    expect(bodyOf().response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema: ANSWER_SCHEMA, strict: true } });
    expect(standin.requests[0]!.schemaName).toBe('answer');
    expect(JSON.parse(response.text)).toEqual({ answer: 'forty-two' });
  });

  it('caps the answer with max_tokens on a compatible server, and leaves prompt-cache fields to OpenAI itself', async () => {
    standin.script({ text: 'ok' });
    const provider = chat();
    await provider.generate(request({ maxOutputTokens: 321, cacheRetention: '24h' }));
    expect(bodyOf().max_tokens).toBe(321);
    expect(bodyOf()).not.toHaveProperty('max_completion_tokens');
    expect(bodyOf()).not.toHaveProperty('prompt_cache_key');
    expect(bodyOf()).not.toHaveProperty('prompt_cache_retention');
    expect(provider.capabilities).toEqual({ serverThreads: false, promptCacheControls: false, structuredOutput: true, applyPatchTool: false });
  });

  it('claims prompt-cache controls only for OpenAI\'s own endpoint', () => {
    expect(isOpenAIEndpoint(undefined)).toBe(true);
    expect(isOpenAIEndpoint('https://api.openai.com/v1')).toBe(true);
    expect(isOpenAIEndpoint('http://localhost:11434/v1')).toBe(false);
    expect(isOpenAIEndpoint('https://openrouter.ai/api/v1')).toBe(false);
    expect(chat({ baseURL: undefined }).capabilities.promptCacheControls).toBe(true);
  });

  it('sends a placeholder key to a server given by base URL when no key is set, and needs a key for OpenAI itself', async () => {
    standin.script({ text: 'ok' });
    const local = chat({ apiKey: undefined });
    expect(() => local.ready()).not.toThrow();
    await local.generate(request());
    expect(standin.requests[0]!.headers.authorization).toBe(`Bearer ${LOCAL_PLACEHOLDER_KEY}`);

    const openai = chat({ apiKey: undefined, baseURL: undefined, settingNames: { apiKey: 'PLANEXEC_EXECUTOR_API_KEY', baseURL: 'PLANEXEC_EXECUTOR_BASE_URL' } });
    const error = await modelFailure(openai.generate(request()), 'no_api_key');
    expect(error.message).toContain('PLANEXEC_EXECUTOR_API_KEY');
    expect(error.hint).toContain('PLANEXEC_EXECUTOR_BASE_URL');
    expect(standin.requests).toHaveLength(1);
  });
});

describe('what comes back', () => {
  it('reports usage from prompt_tokens, prompt_tokens_details.cached_tokens and completion_tokens, and no response id', async () => {
    standin.script({ text: 'the answer' });
    const response = await chat().generate(request());
    const sent = standin.requests[0]!.usage!;
    expect(sent.inputTokens).toBeGreaterThan(0);
    expect(response).toEqual({ responseId: null, text: 'the answer', usage: { input_tokens: sent.inputTokens, cached_tokens: sent.cachedTokens, output_tokens: sent.outputTokens } });
  });

  it('reports cached tokens when the server served the prefix from its cache', async () => {
    const cached = await startOpenAIStandin({ cacheMinTokens: 16, cacheStepTokens: 8 });
    try {
      const provider = chat({}, cached);
      const instructions = `You are the executor. ${'Keep the change focused. '.repeat(40)}`;
      await provider.generate(request({ instructions }));
      const second = await provider.generate(request({ instructions, input: 'Write the Session type.' }));
      expect(second.usage!.cached_tokens).toBeGreaterThan(0);
      expect(second.usage!.cached_tokens).toBe(cached.requests[1]!.usage!.cachedTokens);
    } finally {
      await cached.close();
    }
  });

  it('answers usage null when the server reports none, so the core estimates it', async () => {
    standin.script({ text: 'the answer', omitUsage: true });
    const response = await chat().generate(request());
    expect(response.usage).toBeNull();
  });

  it('reads an answer cut at the length limit as incomplete, billed with its usage', async () => {
    standin.script({ incomplete: { reason: 'max_output_tokens', text: 'half an ans' } });
    const error = await modelFailure(chat().generate(request()), 'incomplete');
    expect(error.billed).toBe(true);
    expect(error.usage).toEqual({ input_tokens: standin.requests[0]!.usage!.inputTokens, cached_tokens: 0, output_tokens: standin.requests[0]!.usage!.outputTokens });
    expect(error.hint).toContain('PLANEXEC_EXECUTOR_MAX_OUTPUT_TOKENS');
  });

  it('reads a content-filter stop as refused, and no choices or no text as empty, all billed', async () => {
    standin.script({ incomplete: { reason: 'content_filter', text: '' } }, { emptyOutput: true }, { text: '   ' });
    const refused = await modelFailure(chat().generate(request()), 'refused');
    const none = await modelFailure(chat().generate(request()), 'empty');
    const blank = await modelFailure(chat().generate(request()), 'empty');
    expect([refused.billed, none.billed, blank.billed]).toEqual([true, true, true]);
    expect(none.message).toContain('no choices');
    expect(blank.message).toContain('no text');
  });

  it('refuses a request that continues a thread without sending it, so the core resends the record', async () => {
    const error = await modelFailure(chat().generate(request({ previousResponseId: 'resp_123' })), 'thread_lost');
    expect(error.billed).toBe(false);
    expect(standin.requests).toHaveLength(0);
  });
});

describe('failures, mapped as the Responses adapter maps them', () => {
  it('maps 401 to auth naming the role\'s key setting, without the key', async () => {
    standin.script({ error: { status: 401, message: `Incorrect API key provided: ${API_KEY}.`, type: 'invalid_request_error' }, echoAuthorization: true });
    const error = await modelFailure(chat({ settingNames: { apiKey: 'PLANEXEC_PLANNER_API_KEY', baseURL: 'PLANEXEC_PLANNER_BASE_URL' } }).generate(request()), 'auth');
    expect(error.message).toContain('HTTP 401');
    expect(error.hint).toContain('PLANEXEC_PLANNER_API_KEY');
    expect(JSON.stringify([error.message, error.hint, error.details])).not.toContain(API_KEY);
  });

  it('maps 429 to rate_limit and insufficient_quota to quota', async () => {
    standin.script(apiError(429, 'Rate limit reached'), apiError(429, 'You exceeded your current quota', 'insufficient_quota'));
    await modelFailure(chat().generate(request()), 'rate_limit');
    await modelFailure(chat().generate(request()), 'quota');
  });

  it('maps 5xx to server, pointing at the server behind the base URL rather than OpenAI\'s status page', async () => {
    standin.script(apiError(503, 'model is loading'));
    const error = await modelFailure(chat().generate(request()), 'server');
    expect(error.hint).toContain(standin.baseURL);
    expect(error.hint).not.toContain('status.openai.com');
  });

  it('maps a 400 to bad_request with the server\'s words, redacted, and a hint that names Chat Completions', async () => {
    standin.script(apiError(400, 'model "qwen9" not found, try pulling it first (key sk-live-0123456789abcdef)'));
    const error = await modelFailure(chat().generate(request({ model: 'qwen9' })), 'bad_request');
    expect(error.message).toContain('model "qwen9" not found');
    expect(error.message).not.toContain('sk-live-0123456789abcdef');
    expect(error.hint).toContain('Chat Completions');
    expect(error.hint).toContain("'qwen9'");
  });

  it('times out on a body that never ends, within the whole-call deadline', async () => {
    standin.script({ text: 'slow', dripMs: 5_000, dripChunks: 50 });
    const error = await modelFailure(chat({ timeoutMs: 300 }).generate(request()), 'timeout');
    expect(error.billed).toBe(true);
    expect(error.message).toContain('300 ms');
  });

  it('stops at once when the caller aborts, as aborted', async () => {
    standin.script({ hang: true });
    const controller = new AbortController();
    const pending = chat().generate(request({ signal: controller.signal }));
    while (standin.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const error = await modelFailure(pending, 'aborted');
    expect(error.code).toBe('cancelled');
  });
});

// ------------------------------------------------------------------------------------------------
// Through the core: CoreDeps as compose() builds them, with a real provider per role.

const open: TestDeps[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function core(models: { planner: ModelProvider; executor: ModelProvider }): Promise<CoreDeps> {
  const d = await makeDeps({ files: { 'src/a.ts': 'export const a = 1;' } });
  open.push(d);
  return { ...d, models };
}

const PLAN = plan([{ id: 's1' }]);
const responses = () => new OpenAIResponsesProvider({ apiKey: API_KEY, baseURL: standin.baseURL, timeoutMs: 10_000, maxRetries: 0 });

describe('roles on different providers, through the core', () => {
  it('routes the planner to the Responses API and the executor to Chat Completions, with usage and cost from the chat fields', async () => {
    standin.setResponder(workflowResponder(PLAN));
    const d = await core({ planner: responses(), executor: chat() });
    const planned = await planTask(d, { request: 'Add a login page' });
    const executed = await executeSubtask(d, { workflow_id: planned.workflow_id, subtask_id: 's1' });
    expect(executed.output).toBe('OUTPUT-OF-s1');
    await reviewResults(d, { workflow_id: planned.workflow_id });

    expect(standin.requests.map((r) => [r.endpoint, r.model])).toEqual([
      ['responses', 'gpt-5.4'],
      ['chat.completions', 'gpt-5.4-mini'],
      ['responses', 'gpt-5.4'],
    ]);
    // The review continues the planner's thread on the Responses side.
    expect(standin.requests[2]!.previousResponseId).toBe(standin.requests[0]!.responseId);

    const execution = standin.requests[1]!.usage!;
    const status = await workflowStatus(d, { workflow_id: planned.workflow_id });
    expect(status.usage!.executor).toMatchObject({ calls: 1, input_tokens: execution.inputTokens, cached_tokens: execution.cachedTokens, output_tokens: execution.outputTokens, estimated_calls: 0 });
    const planner = [standin.requests[0]!.usage!, standin.requests[2]!.usage!];
    const expected =
      priceUsage({ input_tokens: execution.inputTokens, cached_tokens: execution.cachedTokens, output_tokens: execution.outputTokens }, DEFAULT_PRICES['gpt-5.4-mini']!) +
      planner.reduce((sum, u) => sum + priceUsage({ input_tokens: u.inputTokens, cached_tokens: u.cachedTokens, output_tokens: u.outputTokens }, DEFAULT_PRICES['gpt-5.4']!), 0);
    expect(status.cost!.usd).toBeCloseTo(expected, 6);
  });

  it('keeps a chat planner\'s thread itself: the review request carries the plan exchange as messages', async () => {
    standin.setResponder(workflowResponder(PLAN));
    const d = await core({ planner: chat(), executor: chat() });
    const planned = await planTask(d, { request: 'Add a login page' });
    await executeSubtask(d, { workflow_id: planned.workflow_id, subtask_id: 's1' });
    await reviewResults(d, { workflow_id: planned.workflow_id });

    expect(standin.requests.map((r) => [r.endpoint, r.schemaName])).toEqual([
      ['chat.completions', 'plan'],
      ['chat.completions', null],
      ['chat.completions', 'review'],
    ]);
    const [planRequest, , review] = standin.requests as [StandinRequest, StandinRequest, StandinRequest];
    const messages = (review.body as { messages: Array<{ role: string; content: string }> }).messages;
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages[1]!.content).toBe((planRequest.body as { messages: Array<{ content: string }> }).messages[1]!.content);
    expect(JSON.parse(messages[2]!.content)).toEqual(PLAN);
    expect(messages[3]!.content).toContain('s1');
  });

  it('repairs a plan once when the server ignores response_format: prose first, JSON after the problems went back', async () => {
    const loose = await startOpenAIStandin({ chatIgnoresResponseFormat: true });
    try {
      loose.script({ text: 'Sure! Here is a plan: first design, then build.' }, { json: PLAN });
      const d = await core({ planner: chat({}, loose), executor: chat({}, loose) });
      const planned = await planTask(d, { request: 'Add a login page' });

      expect(planned.subtasks.map((s) => s.id)).toEqual(['s1']);
      expect(loose.requests).toHaveLength(2);
      expect(loose.requests.every((r) => r.schemaName === null)).toBe(true);
      const repair = (loose.requests[1]!.body as { messages: Array<{ role: string; content: string }> }).messages;
      expect(repair.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
      expect(repair[2]!.content).toBe('Sure! Here is a plan: first design, then build.');
      expect(repair[3]!.content).toMatch(/not valid JSON/);
      const calls = await d.store.calls.list(planned.workflow_id);
      expect(calls.map((c) => [c.purpose, c.status])).toEqual([
        ['plan', 'completed'],
        ['repair', 'completed'],
      ]);
    } finally {
      await loose.close();
    }
  });

  it('a planner thread begun on the Codex CLI goes on from planexec\'s record after the role moved to the Responses API', async () => {
    standin.script({ json: { answer: 'again' } });
    const history = [{ input: 'Plan it.', output: '{"subtasks":[]}' }];
    const codexHead = 'codex:01a228df-2e07-7281-a769-cad02606aef9:100:0:10:0';
    const error = await modelFailure(responses().generate(request({ role: 'planner', previousResponseId: codexHead })), 'thread_lost');
    expect(error.billed).toBe(false);
    expect(standin.requests).toHaveLength(0);
    // What the core sends next (journal.ts, structuredPlannerCall): the record, no previous_response_id.
    await responses().generate(request({ role: 'planner', history, format: { name: 'answer', schema: ANSWER_SCHEMA } }));
    expect(standin.requests[0]!.previousResponseId).toBeNull();
    expect(standin.requests[0]!.inputText).toContain('Plan it.');
  });

  it('reports a chat planner without key or base URL before anything is stored', async () => {
    const d = await core({ planner: chat({ apiKey: undefined, baseURL: undefined }), executor: chat() });
    const error = await planTask(d, { request: 'Add a login page' }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PlanexecError);
    expect((error as ModelCallError).reason).toBe('no_api_key');
    expect(standin.requests).toHaveLength(0);
    expect(await d.store.workflows.list(10)).toEqual([]);
  });
});

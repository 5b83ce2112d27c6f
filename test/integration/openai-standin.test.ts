// The OpenAI stand-in, driven through the real openai SDK: wire shapes, chaining, structured output,
// usage and the prefix-cache model, scripted errors, latency, aborts and concurrency.
import OpenAI, { APIConnectionError, APIUserAbortError, AuthenticationError, BadRequestError, InternalServerError, NotFoundError, RateLimitError } from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PlanSchema, validatePlan } from '../../src/core/plan.js';
import { autoResponder, countTokens, startOpenAIStandin, type OpenAIStandin, type StandinRequest } from '../support/openai-standin.js';

let standin: OpenAIStandin;
let client: OpenAI;

beforeAll(async () => {
  standin = await startOpenAIStandin();
  client = new OpenAI({ baseURL: standin.baseURL, apiKey: 'test-key', maxRetries: 0 });
});

afterAll(async () => {
  await standin.close();
});

beforeEach(() => {
  standin.reset();
  standin.setResponder(autoResponder);
});

/** Deterministic filler text of roughly `words` tokens, distinct per seed. */
function filler(seed: string, words: number): string {
  const vocab = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
  const out: string[] = [seed];
  for (let i = 0; i < words; i++) out.push(vocab[(i * 7 + seed.length) % vocab.length] ?? 'x');
  return out.join(' ');
}

async function until(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function only(requests: StandinRequest[], seq: number): StandinRequest {
  const r = requests.find((x) => x.seq === seq);
  if (!r) throw new Error(`no request ${seq}`);
  return r;
}

describe('responses endpoint', () => {
  it('returns the scripted text as output_text with a response shaped like the real API and records the request', async () => {
    standin.script({ text: 'Hello from the stand-in.' });
    const res = await client.responses.create({ model: 'gpt-test', instructions: 'Be brief.', input: 'Say hello.' });

    expect(res.output_text).toBe('Hello from the stand-in.');
    expect(res.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(res.object).toBe('response');
    expect(res.status).toBe('completed');
    expect(res.model).toBe('gpt-test');
    expect(res.instructions).toBe('Be brief.');
    expect(res.previous_response_id).toBeNull();
    expect(res.error).toBeNull();
    expect(res.output).toHaveLength(1);
    expect(res.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', annotations: [] }] });
    expect(res._request_id).toMatch(/^req_/);

    const [rec] = standin.requests;
    expect(standin.requests).toHaveLength(1);
    expect(rec).toMatchObject({
      seq: 1,
      endpoint: 'responses',
      model: 'gpt-test',
      instructions: 'Be brief.',
      inputText: 'Say hello.',
      previousResponseId: null,
      schemaName: null,
      promptText: 'Be brief.\n\nSay hello.',
      aborted: false,
      status: 200,
      responseId: res.id,
    });
    expect(rec?.headers.authorization).toBe('Bearer test-key');
    expect(rec?.body).toMatchObject({ model: 'gpt-test', input: 'Say hello.' });
    expect(rec?.usage).toEqual({ inputTokens: countTokens('Be brief.\n\nSay hello.'), cachedTokens: 0, outputTokens: countTokens('Hello from the stand-in.') });
    expect(res.usage).toEqual({
      input_tokens: countTokens('Be brief.\n\nSay hello.'),
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: countTokens('Hello from the stand-in.'),
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: countTokens('Be brief.\n\nSay hello.') + countTokens('Hello from the stand-in.'),
    });
  });

  it('flattens array input items to inputText and reports the outputTokens override in usage', async () => {
    standin.script({ text: 'ok', outputTokens: 777 });
    const res = await client.responses.create({
      model: 'gpt-test',
      input: [
        { role: 'user', content: 'first message' },
        { role: 'user', content: [{ type: 'input_text', text: 'second part a' }, { type: 'input_text', text: 'second part b' }] },
      ],
    });
    expect(res.usage?.output_tokens).toBe(777);
    expect(standin.requests[0]?.inputText).toBe('first message\n\nsecond part a\nsecond part b');
    expect(standin.requests[0]?.instructions).toBeNull();
  });

  it('chains through previous_response_id: the earlier turn is in promptText but its instructions are not', async () => {
    standin.script({ text: 'answer one' }, { text: 'answer two' });
    const first = await client.responses.create({ model: 'gpt-test', instructions: 'OLD INSTRUCTIONS', input: 'question one' });
    const second = await client.responses.create({ model: 'gpt-test', instructions: 'NEW INSTRUCTIONS', input: 'question two', previous_response_id: first.id });

    expect(second.output_text).toBe('answer two');
    expect(second.previous_response_id).toBe(first.id);
    const rec = only(standin.requests, 2);
    expect(rec.previousResponseId).toBe(first.id);
    expect(rec.inputText).toBe('question two');
    expect(rec.promptText).toBe('NEW INSTRUCTIONS\n\nquestion one\n\nanswer one\n\nquestion two');
    expect(rec.promptText).not.toContain('OLD INSTRUCTIONS');
    expect(second.usage?.input_tokens).toBe(countTokens(rec.promptText));

    // A third turn carries the whole chain, oldest first.
    standin.script({ text: 'answer three' });
    await client.responses.create({ model: 'gpt-test', input: 'question three', previous_response_id: second.id });
    expect(only(standin.requests, 3).promptText).toBe('question one\n\nanswer one\n\nquestion two\n\nanswer two\n\nquestion three');
  });

  it('rejects an unknown previous_response_id with the SDK BadRequestError without consulting the script', async () => {
    standin.script({ text: 'should stay queued' });
    const err = await client.responses.create({ model: 'gpt-test', input: 'hi', previous_response_id: 'resp_doesnotexist' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    const e = err as BadRequestError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('previous_response_not_found');
    expect(e.param).toBe('previous_response_id');
    expect(e.type).toBe('invalid_request_error');
    expect(e.message).toContain("Previous response with id 'resp_doesnotexist' not found.");
    expect(standin.requests[0]).toMatchObject({ status: 400, responseId: null, usage: null });

    const next = await client.responses.create({ model: 'gpt-test', input: 'hi' });
    expect(next.output_text).toBe('should stay queued');
  });

  it('does not store a response created with store:false, so it cannot be chained', async () => {
    const first = await client.responses.create({ model: 'gpt-test', input: 'ephemeral', store: false });
    expect(standin.requests[0]?.body.store).toBe(false);
    await expect(client.responses.create({ model: 'gpt-test', input: 'next', previous_response_id: first.id })).rejects.toBeInstanceOf(BadRequestError);
  });

  it('rejects a missing model or input with BadRequestError', async () => {
    const noModel = await client.responses.create({ input: 'hi' } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(noModel).toBeInstanceOf(BadRequestError);
    expect((noModel as BadRequestError).param).toBe('model');
    const noInput = await client.responses.create({ model: 'gpt-test' }).catch((e: unknown) => e);
    expect(noInput).toBeInstanceOf(BadRequestError);
    expect((noInput as BadRequestError).param).toBe('input');
  });

  it('answers 401 with the real missing-key error when there is no Bearer token', async () => {
    const res = await fetch(`${standin.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', input: 'hi' }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { message: string; type: string; code: null } };
    expect(body.error.message).toMatch(/^You didn't provide an API key/);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: null });
    expect(standin.requests[0]?.status).toBe(401);
  });

  it('answers unknown paths with a 404 JSON error (SDK NotFoundError)', async () => {
    const err = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).message).toContain('Invalid URL (POST /v1/embeddings)');
    expect(standin.requests).toHaveLength(0);
  });

  it('truncates to max_output_tokens and marks the response incomplete', async () => {
    standin.script({ text: filler('long', 200) });
    const res = await client.responses.create({ model: 'gpt-test', input: 'write a lot', max_output_tokens: 20 });
    expect(res.status).toBe('incomplete');
    expect(res.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(res.usage?.output_tokens).toBe(20);
    expect(countTokens(res.output_text)).toBeLessThanOrEqual(20);
    expect(filler('long', 200).startsWith(res.output_text)).toBe(true);
  });
});

describe('structured output', () => {
  it('round-trips a json_schema text.format: the schema prefixes promptText and output_text parses as the plan', async () => {
    const format = zodTextFormat(PlanSchema, 'plan');
    const res = await client.responses.create({
      model: 'gpt-planner',
      instructions: 'You plan work.',
      input: 'Request: Add a --json flag to the list command\nContext: none',
      text: { format },
    });
    const plan = PlanSchema.parse(JSON.parse(res.output_text));
    expect(validatePlan(plan)).toEqual([]);
    expect(plan.subtasks.map((s) => [s.id, s.depends_on, s.complexity])).toEqual([
      ['s1', [], 'complex'],
      ['s2', ['s1'], 'routine'],
      ['s3', ['s2'], 'routine'],
      ['s4', ['s2'], 'routine'],
    ]);
    expect(plan.subtasks.every((s) => s.description.includes('Add a --json flag to the list command'))).toBe(true);
    expect(res.text?.format).toMatchObject({ type: 'json_schema', name: 'plan', strict: true });

    const rec = standin.requests[0];
    expect(rec?.schemaName).toBe('plan');
    expect(rec?.promptText).toBe(`${JSON.stringify(format.schema)}\n\nYou plan work.\n\nRequest: Add a --json flag to the list command\nContext: none`);
  });

  it('works with client.responses.parse and scripted json replies', async () => {
    standin.script({ json: { subtasks: [], coordination_notes: 'none' } });
    const res = await client.responses.parse({ model: 'gpt-planner', input: 'plan', text: { format: zodTextFormat(PlanSchema, 'plan') } });
    expect(res.output_parsed).toEqual({ subtasks: [], coordination_notes: 'none' });
  });

  it('rejects a strict schema whose object lacks additionalProperties:false, like the real API', async () => {
    const err = await client.responses
      .create({
        model: 'gpt-test',
        input: 'x',
        text: { format: { type: 'json_schema', name: 'loose', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } } },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).code).toBe('invalid_json_schema');
    expect((err as BadRequestError).message).toContain("Invalid schema for response_format 'loose'");
  });

  it('autoResponder approves every "### Subtask <id>" it finds for the review schema and summarises for compaction', async () => {
    const reviewFormat = {
      type: 'json_schema' as const,
      name: 'review',
      schema: { type: 'object', properties: {}, additionalProperties: true },
    };
    const review = await client.responses.create({
      model: 'gpt-planner',
      input: '## Outputs\n### Subtask s1\nsome output\n### Subtask s3\nmore output\n### Subtask s1\nrepeated',
      text: { format: reviewFormat },
    });
    expect(JSON.parse(review.output_text)).toEqual({
      verdict: 'approve',
      reviews: [
        { subtask_id: 's1', verdict: 'approve', feedback: 'Looks complete.' },
        { subtask_id: 's3', verdict: 'approve', feedback: 'Looks complete.' },
      ],
      summary: 'All subtasks approved.',
    });

    const compaction = await client.responses.create({ model: 'gpt-planner', input: 'Summarise.', text: { format: { ...reviewFormat, name: 'compaction' } } });
    expect((JSON.parse(compaction.output_text) as { summary: string }).summary).toMatch(/^State summary: /);

    const answer = await client.responses.create({ model: 'gpt-exec', input: 'Context\n### Subtask s2: Implement the core logic\nGo.' });
    expect(answer.output_text).toContain('Subtask s2: Implement the core logic');
    const tokens = answer.usage?.output_tokens ?? 0;
    expect(tokens).toBeGreaterThanOrEqual(60);
    expect(tokens).toBeLessThanOrEqual(120);
  });
});

describe('prefix cache model', () => {
  it('reports no cached tokens below 1024 shared tokens and a multiple of 128 above', async () => {
    const short = filler('short-prefix', 500);
    expect(countTokens(short)).toBeLessThan(1000);
    await client.responses.create({ model: 'gpt-test', instructions: short, input: 'one' });
    const shortAgain = await client.responses.create({ model: 'gpt-test', instructions: short, input: 'two' });
    expect(shortAgain.usage?.input_tokens_details.cached_tokens).toBe(0);

    const long = filler('long-prefix', 1500);
    const longTokens = countTokens(long);
    // Keep away from a multiple of 128 so the token merge at the "\n\n" boundary cannot change the expectation.
    expect(longTokens % 128).toBeGreaterThan(8);
    expect(longTokens % 128).toBeLessThan(120);
    const first = await client.responses.create({ model: 'gpt-test', instructions: long, input: 'first question' });
    expect(first.usage?.input_tokens_details.cached_tokens).toBe(0);
    const second = await client.responses.create({ model: 'gpt-test', instructions: long, input: 'a different question' });
    const cached = second.usage?.input_tokens_details.cached_tokens ?? -1;
    expect(cached).toBe(Math.floor(longTokens / 128) * 128);
    expect(cached).toBeGreaterThanOrEqual(1024);
    expect(cached % 128).toBe(0);
    expect(cached).toBeLessThanOrEqual(second.usage?.input_tokens ?? 0);
    expect(standin.requests.at(-1)?.usage?.cachedTokens).toBe(cached);

    // The cache is per model, and reset() empties it.
    const otherModel = await client.responses.create({ model: 'gpt-other', instructions: long, input: 'a different question' });
    expect(otherModel.usage?.input_tokens_details.cached_tokens).toBe(0);
    standin.reset();
    const afterReset = await client.responses.create({ model: 'gpt-test', instructions: long, input: 'a different question' });
    expect(afterReset.usage?.input_tokens_details.cached_tokens).toBe(0);
  });

  it('caches an identical prompt up to the last full 128-token block, never beyond input_tokens', async () => {
    const long = filler('identical', 1300);
    await client.responses.create({ model: 'gpt-test', input: long });
    const again = await client.responses.create({ model: 'gpt-test', input: long });
    const input = again.usage?.input_tokens ?? 0;
    expect(again.usage?.input_tokens_details.cached_tokens).toBe(Math.floor(input / 128) * 128);
  });

  it('does not remember prompts of failed requests, and honours custom thresholds', async () => {
    const long = filler('failed', 1500);
    standin.script({ error: { status: 500, message: 'boom' } });
    await expect(client.responses.create({ model: 'gpt-test', input: long })).rejects.toBeInstanceOf(InternalServerError);
    const afterFailure = await client.responses.create({ model: 'gpt-test', input: long });
    expect(afterFailure.usage?.input_tokens_details.cached_tokens).toBe(0);

    const small = await startOpenAIStandin({ cacheMinTokens: 10, cacheStepTokens: 4 });
    try {
      const c = new OpenAI({ baseURL: small.baseURL, apiKey: 'k', maxRetries: 0 });
      const text = filler('tiny', 30);
      await c.responses.create({ model: 'm', input: text });
      const again = await c.responses.create({ model: 'm', input: text });
      const input = again.usage?.input_tokens ?? 0;
      expect(again.usage?.input_tokens_details.cached_tokens).toBe(Math.floor(input / 4) * 4);
    } finally {
      await small.close();
    }
  });
});

describe('scripted errors', () => {
  it('surfaces scripted errors as the SDK RateLimitError, AuthenticationError and InternalServerError', async () => {
    standin.script(
      { error: { status: 429, message: 'Rate limit reached for requests', code: 'rate_limit_exceeded' }, headers: { 'retry-after-ms': '0' } },
      { error: { status: 401, message: 'Incorrect API key provided', code: 'invalid_api_key' } },
      { error: { status: 500, message: 'The server had an error' } },
    );
    const rate = await client.responses.create({ model: 'gpt-test', input: 'a' }).catch((e: unknown) => e);
    expect(rate).toBeInstanceOf(RateLimitError);
    expect((rate as RateLimitError).code).toBe('rate_limit_exceeded');
    expect((rate as RateLimitError).headers.get('retry-after-ms')).toBe('0');
    expect((rate as RateLimitError).message).toContain('Rate limit reached for requests');

    const auth = await client.responses.create({ model: 'gpt-test', input: 'b' }).catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(AuthenticationError);
    expect((auth as AuthenticationError).code).toBe('invalid_api_key');

    const server = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'c' }] }).catch((e: unknown) => e);
    expect(server).toBeInstanceOf(InternalServerError);
    expect((server as InternalServerError).type).toBe('server_error');

    expect(standin.requests.map((r) => r.status)).toEqual([429, 401, 500]);
  });

  it('lets the SDK retry quickly past scripted errors when retry-after-ms is 0', async () => {
    const retrying = new OpenAI({ baseURL: standin.baseURL, apiKey: 'test-key', maxRetries: 2 });
    const fast = { headers: { 'retry-after-ms': '0' } };
    standin.script({ error: { status: 503, message: 'overloaded' }, ...fast }, { error: { status: 429, message: 'slow down' }, ...fast }, { text: 'third time lucky' });
    const res = await retrying.responses.create({ model: 'gpt-test', input: 'retry me' });
    expect(res.output_text).toBe('third time lucky');
    expect(standin.requests.map((r) => r.status)).toEqual([503, 429, 200]);
  });

  it('turns a throwing responder into a 500 and uses script items (replies and responders) before the responder', async () => {
    standin.setResponder(() => {
      throw new Error('responder exploded');
    });
    standin.script({ text: 'scripted reply' }, async (req) => ({ text: `scripted responder saw ${req.inputText}` }));
    expect((await client.responses.create({ model: 'gpt-test', input: 'a' })).output_text).toBe('scripted reply');
    expect((await client.responses.create({ model: 'gpt-test', input: 'b' })).output_text).toBe('scripted responder saw b');
    const err = await client.responses.create({ model: 'gpt-test', input: 'c' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).message).toContain('responder exploded');
  });
});

describe('chat completions endpoint', () => {
  it('round-trips messages and json_schema response_format with usage including cached tokens', async () => {
    const system = filler('system-prompt', 1500);
    const systemTokens = countTokens(system);
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const responseFormat = { type: 'json_schema' as const, json_schema: { name: 'answer', strict: true, schema } };
    standin.script({ json: { answer: 'one' } }, { json: { answer: 'two' } });

    const first = await client.chat.completions.create({
      model: 'gpt-chat',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: 'first?' },
      ],
      response_format: responseFormat,
    });
    expect(first.object).toBe('chat.completion');
    expect(first.id).toMatch(/^chatcmpl-/);
    expect(first.choices[0]?.message).toMatchObject({ role: 'assistant', content: '{"answer":"one"}', refusal: null });
    expect(first.choices[0]?.finish_reason).toBe('stop');
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);

    const second = await client.chat.completions.create({
      model: 'gpt-chat',
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: [{ type: 'text', text: 'second?' }] },
      ],
      response_format: responseFormat,
    });
    const rec = only(standin.requests, 2);
    expect(rec).toMatchObject({ endpoint: 'chat.completions', model: 'gpt-chat', instructions: system, inputText: 'second?', schemaName: 'answer', previousResponseId: null, responseId: second.id });
    expect(rec.promptText).toBe(`${JSON.stringify(schema)}\n\n${system}\n\nsecond?`);
    expect(second.usage?.prompt_tokens).toBe(countTokens(rec.promptText));
    expect(second.usage?.completion_tokens).toBe(countTokens('{"answer":"two"}'));
    expect(second.usage?.total_tokens).toBe((second.usage?.prompt_tokens ?? 0) + (second.usage?.completion_tokens ?? 0));
    const cached = second.usage?.prompt_tokens_details?.cached_tokens ?? -1;
    expect(cached).toBeGreaterThanOrEqual(1024);
    expect(cached % 128).toBe(0);
    expect(cached).toBeGreaterThanOrEqual(Math.floor(systemTokens / 128) * 128);
    expect(JSON.parse(second.choices[0]?.message.content ?? '')).toEqual({ answer: 'two' });
  });
});

describe('latency, aborts and concurrency', () => {
  it('records an SDK call aborted during delayMs as aborted, without a status or usage', async () => {
    standin.script({ text: 'too late', delayMs: 3000 });
    const controller = new AbortController();
    const call = client.responses.create({ model: 'gpt-test', input: 'slow' }, { signal: controller.signal });
    await until(() => standin.requests.length === 1);
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(APIUserAbortError);
    const rec = standin.requests[0];
    await until(() => rec?.aborted === true);
    expect(rec).toMatchObject({ aborted: true, status: null, usage: null, responseId: null });
    expect(rec?.endedAt).not.toBeNull();

    // The aborted prompt was not remembered by the prefix cache.
    const long = filler('aborted', 1500);
    standin.script({ text: 'never sent', delayMs: 3000 });
    const second = new AbortController();
    const call2 = client.responses.create({ model: 'gpt-test', input: long }, { signal: second.signal });
    await until(() => standin.requests.length === 2);
    second.abort();
    await expect(call2).rejects.toBeInstanceOf(APIUserAbortError);
    const after = await client.responses.create({ model: 'gpt-test', input: long });
    expect(after.usage?.input_tokens_details.cached_tokens).toBe(0);
  });

  it('keeps a hanging request open until the client aborts', async () => {
    standin.script({ hang: true });
    const controller = new AbortController();
    const call = client.responses.create({ model: 'gpt-test', input: 'hang' }, { signal: controller.signal });
    await until(() => standin.requests.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(standin.requests[0]).toMatchObject({ endedAt: null, aborted: false, status: null });
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(APIUserAbortError);
    await until(() => standin.requests[0]?.aborted === true);
  });

  it('close() ends hanging requests promptly', async () => {
    const own = await startOpenAIStandin();
    own.script({ hang: true });
    const c = new OpenAI({ baseURL: own.baseURL, apiKey: 'k', maxRetries: 0 });
    const call = c.responses.create({ model: 'gpt-test', input: 'hang forever' }).catch((e: unknown) => e);
    await until(() => own.requests.length === 1);
    await own.close();
    expect(await call).toBeInstanceOf(APIConnectionError);
    expect(own.requests[0]).toMatchObject({ aborted: true, status: null });
  });

  it('looks the cache up at arrival: concurrent requests with the same prefix miss, a later one hits', async () => {
    const long = filler('concurrent', 1500);
    standin.script({ text: 'a', delayMs: 60 }, { text: 'b', delayMs: 60 });
    const both = await Promise.all([
      client.responses.create({ model: 'gpt-test', instructions: long, input: 'one' }),
      client.responses.create({ model: 'gpt-test', instructions: long, input: 'two' }),
    ]);
    expect(both.map((r) => r.usage?.input_tokens_details.cached_tokens)).toEqual([0, 0]);
    const later = await client.responses.create({ model: 'gpt-test', instructions: long, input: 'three' });
    expect(later.usage?.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(1024);
  });

  it('serves concurrent requests at once and records when each started and ended (how long they take is measured in the bench)', async () => {
    // A responder that answers only once all three requests are in: they can only all finish if the
    // stand-in holds them open together.
    const arrived: Array<() => void> = [];
    const all = new Promise<void>((resolve) => {
      standin.setResponder(async () => {
        await new Promise<void>((r) => {
          arrived.push(r);
          if (arrived.length === 3) resolve();
        });
        return { text: 'together' };
      });
    });
    const calls = Promise.all(['a', 'b', 'c'].map((input) => client.responses.create({ model: 'gpt-exec', input })));
    await all;
    for (const r of arrived) r();
    expect((await calls).map((r) => r.output_text)).toEqual(['together', 'together', 'together']);
    const latestStart = Math.max(...standin.requests.map((r) => r.startedAt));
    const earliestEnd = Math.min(...standin.requests.map((r) => r.endedAt ?? Infinity));
    expect(latestStart).toBeLessThan(earliestEnd);
  });
});

describe('apply_patch tool calls', () => {
  const tools: OpenAI.Responses.Tool[] = [{ type: 'apply_patch' }];

  it('answers patchCalls with apply_patch_call items in the Responses wire shape, after a message when text is given', async () => {
    standin.script({
      text: 'Editing three files.',
      patchCalls: [
        { type: 'create_file', path: 'src/new.ts', diff: '+export const x = 1;\n' },
        { type: 'update_file', path: 'src/old.ts', diff: '@@\n-a\n+b\n', moveTo: 'src/renamed.ts' },
        { type: 'delete_file', path: 'src/gone.ts' },
      ],
    });
    const res = await client.responses.create({ model: 'gpt-exec', input: 'Edit the files.', tools });

    expect(res.status).toBe('completed');
    expect(res.output_text).toBe('Editing three files.');
    expect(res.output.map((o) => o.type)).toEqual(['message', 'apply_patch_call', 'apply_patch_call', 'apply_patch_call']);
    const calls = res.output.filter((o): o is OpenAI.Responses.ResponseApplyPatchToolCall => o.type === 'apply_patch_call');
    for (const c of calls) {
      expect(c.id).toMatch(/^apc_[0-9a-f]{48}$/);
      expect(c.call_id).toMatch(/^call_[0-9a-f]{24}$/);
      expect(c.status).toBe('completed');
      expect(Object.keys(c).sort()).toEqual(['call_id', 'id', 'operation', 'status', 'type']);
    }
    expect(new Set(calls.map((c) => c.call_id)).size).toBe(3);
    expect(calls.map((c) => c.operation)).toEqual([
      { type: 'create_file', path: 'src/new.ts', diff: '+export const x = 1;\n' },
      { type: 'update_file', path: 'src/old.ts', diff: '@@\n-a\n+b\n', move_to: 'src/renamed.ts' },
      { type: 'delete_file', path: 'src/gone.ts' },
    ]);
    expect(standin.requests[0]?.tools).toEqual([{ type: 'apply_patch' }]);
    expect(res.usage?.output_tokens).toBeGreaterThan(countTokens('Editing three files.'));
  });

  it('answers patchCalls without text with the calls alone and an empty output_text', async () => {
    standin.script({ patchCalls: [{ type: 'delete_file', path: 'a.txt' }] });
    const res = await client.responses.create({ model: 'gpt-exec', input: 'Delete a.txt.', tools });
    expect(res.output.map((o) => o.type)).toEqual(['apply_patch_call']);
    expect(res.output_text).toBe('');
  });

  it('records apply_patch_call_output items of a chained follow-up for responders and in inputText', async () => {
    standin.script({
      patchCalls: [
        { type: 'create_file', path: 'a.txt', diff: '+a\n' },
        { type: 'update_file', path: 'b.txt', diff: '@@\n-x\n+y\n' },
      ],
    });
    const first = await client.responses.create({ model: 'gpt-exec', input: 'Edit.', tools });
    const [c1, c2] = first.output.filter((o): o is OpenAI.Responses.ResponseApplyPatchToolCall => o.type === 'apply_patch_call');
    let seen: StandinRequest | null = null;
    standin.script((req) => {
      seen = req;
      return { text: 'Fixed.' };
    });
    const second = await client.responses.create({
      model: 'gpt-exec',
      previous_response_id: first.id,
      tools,
      input: [
        { type: 'apply_patch_call_output', call_id: c1!.call_id, status: 'completed', output: 'Created a.txt' },
        { type: 'apply_patch_call_output', call_id: c2!.call_id, status: 'failed', output: 'Hunk 1 does not match the file.' },
      ],
    });
    expect(second.output_text).toBe('Fixed.');
    const rec = only(standin.requests, 2);
    expect(seen).toBe(rec);
    expect(rec.patchOutputs).toEqual([
      { call_id: c1!.call_id, status: 'completed', output: 'Created a.txt' },
      { call_id: c2!.call_id, status: 'failed', output: 'Hunk 1 does not match the file.' },
    ]);
    expect(rec.previousResponseId).toBe(first.id);
    expect(rec.inputText).toBe(`apply_patch ${c1!.call_id} completed: Created a.txt\n\napply_patch ${c2!.call_id} failed: Hunk 1 does not match the file.`);
    expect(rec.promptText).toContain('apply_patch create_file a.txt\n+a');
    expect(rec.promptText).toContain('apply_patch update_file b.txt\n@@\n-x\n+y');
  });

  it('accepts outputs whose calls are resent in the input instead of chained', async () => {
    standin.script({ text: 'ok' });
    await client.responses.create({
      model: 'gpt-exec',
      store: false,
      tools,
      input: [
        { role: 'user', content: 'Edit.' },
        { type: 'apply_patch_call', call_id: 'call_resent', status: 'completed', operation: { type: 'delete_file', path: 'x.txt' } },
        { type: 'apply_patch_call_output', call_id: 'call_resent', status: 'completed' },
      ],
    });
    const rec = standin.requests[0];
    expect(rec?.status).toBe(200);
    expect(rec?.patchOutputs).toEqual([{ call_id: 'call_resent', status: 'completed', output: null }]);
    expect(rec?.inputText).toBe('Edit.\n\napply_patch delete_file x.txt\n\napply_patch call_resent completed');
  });

  it('rejects a follow-up that leaves a call unanswered or answers a call nobody made, like the API does for tool calls', async () => {
    standin.script({ patchCalls: [{ type: 'delete_file', path: 'a.txt' }, { type: 'delete_file', path: 'b.txt' }] }, { text: 'should stay queued' });
    const first = await client.responses.create({ model: 'gpt-exec', input: 'Delete.', tools });
    const [c1, c2] = first.output.filter((o): o is OpenAI.Responses.ResponseApplyPatchToolCall => o.type === 'apply_patch_call');

    const missing = await client.responses
      .create({ model: 'gpt-exec', previous_response_id: first.id, tools, input: [{ type: 'apply_patch_call_output', call_id: c1!.call_id, status: 'completed' }] })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BadRequestError);
    expect((missing as BadRequestError).message).toContain(`No tool output found for apply_patch call ${c2!.call_id}.`);

    const unknown = await client.responses
      .create({ model: 'gpt-exec', previous_response_id: first.id, tools, input: [{ type: 'apply_patch_call_output', call_id: 'call_nobody', status: 'completed' }] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(BadRequestError);
    expect((unknown as BadRequestError).message).toContain('No tool call found for apply_patch call output with call_id call_nobody.');
    expect(standin.requests.map((r) => r.status)).toEqual([200, 400, 400]);
  });

  it('refuses to answer patchCalls to a request that did not offer the apply_patch tool', async () => {
    standin.script({ patchCalls: [{ type: 'delete_file', path: 'a.txt' }] });
    const err = await client.responses.create({ model: 'gpt-exec', input: 'Delete.' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).message).toContain("needs a request with tools: [{ type: 'apply_patch' }]");
  });
});

describe('failure modes', () => {
  it('answers a failed reply with status failed, the error object, no output and usage null; it cannot be chained', async () => {
    standin.script({ failed: { code: 'server_error', message: 'The model failed to generate a response.' } });
    const res = await client.responses.create({ model: 'gpt-test', input: 'hi' });
    expect(res.status).toBe('failed');
    expect(res.error).toEqual({ code: 'server_error', message: 'The model failed to generate a response.' });
    expect(res.output).toEqual([]);
    expect(res.output_text).toBe('');
    expect(res.usage).toBeNull();
    expect(standin.requests[0]).toMatchObject({ status: 200, usage: null, outputText: '' });
    await expect(client.responses.create({ model: 'gpt-test', input: 'again', previous_response_id: res.id })).rejects.toBeInstanceOf(BadRequestError);
  });

  it('answers an incomplete reply with incomplete_details and usage, with partial text or a lone reasoning item', async () => {
    standin.script({ incomplete: { reason: 'max_output_tokens', text: 'The first half of' } }, { incomplete: { reason: 'max_output_tokens' } });
    const partial = await client.responses.create({ model: 'gpt-test', input: 'write' });
    expect(partial.status).toBe('incomplete');
    expect(partial.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(partial.output_text).toBe('The first half of');
    expect(partial.output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
    expect(partial.usage?.output_tokens).toBe(countTokens('The first half of'));

    const nothing = await client.responses.create({ model: 'gpt-test', input: 'think hard' });
    expect(nothing.status).toBe('incomplete');
    expect(nothing.output.map((o) => o.type)).toEqual(['reasoning']);
    expect(nothing.output_text).toBe('');
    expect(nothing.usage?.input_tokens).toBe(countTokens('think hard'));
  });

  it('answers emptyOutput with a completed response whose output is [] (responses) or whose choices are [] (chat)', async () => {
    standin.script({ emptyOutput: true }, { emptyOutput: true });
    const res = await client.responses.create({ model: 'gpt-test', input: 'hi' });
    expect(res.status).toBe('completed');
    expect(res.output).toEqual([]);
    expect(res.output_text).toBe('');
    expect(res.usage?.output_tokens).toBe(0);
    const chat = await client.chat.completions.create({ model: 'gpt-chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.choices).toEqual([]);
  });

  it('leaves the usage block out when asked, on both endpoints', async () => {
    standin.script({ text: 'no usage here', omitUsage: true }, { text: 'nor here', omitUsage: true }, { text: 'usage again' });
    const res = await client.responses.create({ model: 'gpt-test', input: 'hi' });
    expect(res.output_text).toBe('no usage here');
    expect('usage' in res).toBe(false);
    const chat = await client.chat.completions.create({ model: 'gpt-chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.choices[0]?.message.content).toBe('nor here');
    expect('usage' in chat).toBe(false);
    const normal = await client.responses.create({ model: 'gpt-test', input: 'hi' });
    expect(normal.usage?.output_tokens).toBe(countTokens('usage again'));
  });

  it('cuts a 200 body short and closes the connection; the SDK call fails and the request is not marked aborted', async () => {
    standin.script({ text: 'this answer never arrives whole', cutAfterBytes: 40 });
    const err = await client.responses.create({ model: 'gpt-test', input: 'hi' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const rec = standin.requests[0];
    await until(() => rec?.endedAt !== null);
    expect(rec).toMatchObject({ status: 200, cutShort: true, aborted: false });

    // The raw bytes: headers announce the whole body, 40 bytes of it arrive.
    standin.script({ text: 'this answer never arrives whole', cutAfterBytes: 40 });
    const raw = await fetch(`${standin.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', input: 'hi' }),
    });
    expect(raw.status).toBe(200);
    expect(Number(raw.headers.get('content-length'))).toBeGreaterThan(40);
    const reader = raw.body!.getReader();
    let received = 0;
    const readErr = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return null;
        received += value.byteLength;
      }
    })().catch((e: unknown) => e);
    expect(readErr).toBeInstanceOf(Error);
    expect(received).toBe(40);
  });

  it('drips a body after sending the headers at once; the SDK gets the whole answer', async () => {
    standin.script({ text: 'slowly but surely', dripMs: 100, dripChunks: 5 });
    const res = await client.responses.create({ model: 'gpt-test', input: 'hi' });
    expect(res.output_text).toBe('slowly but surely');
    expect(standin.requests[0]).toMatchObject({ status: 200, aborted: false, cutShort: false });
  });

  it('lets a client abort in the middle of a dripped body, after the headers arrived', async () => {
    standin.script({ text: 'you will not read this', dripMs: 5000, dripChunks: 1 });
    const controller = new AbortController();
    const raw = await fetch(`${standin.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', input: 'hi' }),
      signal: controller.signal,
    });
    expect(raw.status).toBe(200);
    const rec = standin.requests[0];
    expect(rec?.endedAt).toBeNull();
    const body = raw.text().catch((e: unknown) => e);
    controller.abort();
    expect(await body).toBeInstanceOf(Error);
    await until(() => rec?.aborted === true);
    expect(rec?.status).toBe(200);
  });

  it('echoes the Authorization header in an error message when asked, as some proxies do', async () => {
    standin.script({ error: { status: 401, message: 'Invalid credentials' }, echoAuthorization: true });
    const err = await client.responses.create({ model: 'gpt-test', input: 'hi' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).message).toContain('Invalid credentials (request header Authorization: Bearer test-key)');
  });

  it('answers a lost thread with the API\'s 400 although the response was stored, without consulting the script', async () => {
    const first = await client.responses.create({ model: 'gpt-test', input: 'one' });
    const second = await client.responses.create({ model: 'gpt-test', input: 'two', previous_response_id: first.id });
    standin.loseResponse(first.id);
    standin.script({ text: 'should stay queued' });
    for (const prev of [first.id, second.id]) {
      const err = await client.responses.create({ model: 'gpt-test', input: 'three', previous_response_id: prev }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).code).toBe('previous_response_not_found');
      expect((err as BadRequestError).message).toContain(`Previous response with id '${first.id}' not found.`);
    }
    expect((await client.responses.create({ model: 'gpt-test', input: 'fresh' })).output_text).toBe('should stay queued');
  });

  it('forgets every stored response on forgetResponses()', async () => {
    const first = await client.responses.create({ model: 'gpt-test', input: 'one' });
    await client.responses.create({ model: 'gpt-test', input: 'two', previous_response_id: first.id });
    standin.forgetResponses();
    const err = await client.responses.create({ model: 'gpt-test', input: 'three', previous_response_id: first.id }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain(`Previous response with id '${first.id}' not found.`);
  });
});

describe('chat servers that ignore response_format', () => {
  it('answers plain text where a schema was asked, skips the schema check, and still reports cached tokens', async () => {
    const lax = await startOpenAIStandin({ chatIgnoresResponseFormat: true });
    try {
      const c = new OpenAI({ baseURL: lax.baseURL, apiKey: 'k', maxRetries: 0 });
      const looseSchema = { type: 'object', properties: { answer: { type: 'string' } } };
      const res = await c.chat.completions.create({
        model: 'local-model',
        messages: [{ role: 'user', content: '### Subtask s1: Answer in JSON' }],
        response_format: { type: 'json_schema', json_schema: { name: 'plan', strict: true, schema: looseSchema } },
      });
      const content = res.choices[0]?.message.content ?? '';
      expect(() => JSON.parse(content) as unknown).toThrow();
      expect(content).toContain('Subtask s1: Answer in JSON');
      expect(lax.requests[0]).toMatchObject({ schemaName: null, promptText: '### Subtask s1: Answer in JSON', status: 200 });
      expect(lax.requests[0]?.body.response_format).toMatchObject({ type: 'json_schema' });
      expect(res.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    } finally {
      await lax.close();
    }
  });

  it('answers an incomplete chat reply with finish_reason length or content_filter', async () => {
    standin.script({ incomplete: { reason: 'max_output_tokens', text: 'cut' } }, { incomplete: { reason: 'content_filter', text: '' } });
    const a = await client.chat.completions.create({ model: 'gpt-chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(a.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'cut' } });
    const b = await client.chat.completions.create({ model: 'gpt-chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(b.choices[0]?.finish_reason).toBe('content_filter');
  });
});

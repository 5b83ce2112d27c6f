// The apply_patch tool through OpenAIResponsesProvider, the real openai SDK and the local stand-in:
// the tool offered only when asked, apply_patch_call items read into PatchCalls, their outcomes sent
// back on the continued thread, and a model that does not take the tool reported as tool_unsupported.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAIResponsesProvider } from '../../src/adapters/openai/responses-provider.js';
import { refusesApplyPatch } from '../../src/adapters/openai/sdk-client.js';
import { ModelCallError, type ModelFailure } from '../../src/core/errors.js';
import type { ModelRequest, PatchCallOutput } from '../../src/core/ports.js';
import { startOpenAIStandin, type OpenAIStandin, type StandinPatchCall, type StandinReply } from '../support/openai-standin.js';

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

const provider = () => new OpenAIResponsesProvider({ apiKey: 'sk-test-key-123456', baseURL: standin.baseURL, timeoutMs: 10_000, maxRetries: 0 });

function request(over: Partial<ModelRequest> = {}): ModelRequest {
  return { model: 'gpt-5.4-mini', role: 'executor', instructions: 'You edit files.', input: 'Rename the User type.', cacheKey: 'planexec-executor', ...over };
}

async function failure(p: Promise<unknown>, reason: ModelFailure): Promise<ModelCallError> {
  const outcome = await p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(ModelCallError);
  expect((outcome.error as ModelCallError).reason).toBe(reason);
  return outcome.error as ModelCallError;
}

const fast = { headers: { 'retry-after-ms': '0' } };
const badRequest = (message: string, param: string | null = null): StandinReply => ({ error: { status: 400, message, type: 'invalid_request_error', param }, ...fast });

const EDITS: StandinPatchCall[] = [
  { type: 'create_file', path: 'src/user.ts', diff: '+export interface User {\n+  id: string;\n+}\n' },
  { type: 'update_file', path: 'src/app.ts', diff: '@@\n-old\n+new\n' },
  { type: 'delete_file', path: 'src/legacy.ts' },
  { type: 'update_file', path: 'src/a.ts', diff: '', moveTo: 'src/b.ts' },
];

describe('offering the tool', () => {
  it('says it takes the apply_patch tool', () => {
    expect(provider().capabilities.applyPatchTool).toBe(true);
  });

  it('sends tools [{ type: apply_patch }] only when the request asks for it', async () => {
    standin.script({ text: 'plain' }, { text: 'with the tool' }, { text: 'asked not to' });
    await provider().generate(request());
    await provider().generate(request({ applyPatch: true }));
    await provider().generate(request({ applyPatch: false }));
    expect(standin.requests.map((r) => r.tools)).toEqual([[], [{ type: 'apply_patch' }], []]);
    expect('tools' in (standin.requests[0]!.body as object)).toBe(false);
    expect('tools' in (standin.requests[2]!.body as object)).toBe(false);
  });

  it('changes nothing for a request without the tool: the same answer shape, and no text is still empty', async () => {
    standin.script({ text: 'just text' }, { emptyOutput: true });
    const answer = await provider().generate(request());
    expect(Object.keys(answer).sort()).toEqual(['responseId', 'text', 'usage']);
    expect(answer.text).toBe('just text');
    await failure(provider().generate(request()), 'empty');
  });
});

describe('reading apply_patch calls', () => {
  it('reads create, update, delete and move calls in order, with an empty diff for delete, and takes calls alone as an answer', async () => {
    standin.script({ patchCalls: EDITS });
    const answer = await provider().generate(request({ applyPatch: true }));
    expect(answer.text).toBe('');
    expect(answer.responseId).toBe(standin.requests[0]!.responseId);
    expect(answer.usage?.output_tokens).toBeGreaterThan(0);
    expect(answer.patchCalls?.map((c) => c.operation)).toEqual([
      { type: 'create_file', path: 'src/user.ts', diff: '+export interface User {\n+  id: string;\n+}\n' },
      { type: 'update_file', path: 'src/app.ts', diff: '@@\n-old\n+new\n' },
      { type: 'delete_file', path: 'src/legacy.ts', diff: '' },
      { type: 'update_file', path: 'src/a.ts', diff: '', moveTo: 'src/b.ts' },
    ]);
    const ids = answer.patchCalls!.map((c) => c.callId);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toMatch(/^call_[0-9a-f]+$/);
  });

  it('returns the text and the calls of an answer that has both', async () => {
    standin.script({ text: 'I add the type, then use it.', patchCalls: EDITS.slice(0, 2) });
    const answer = await provider().generate(request({ applyPatch: true }));
    expect(answer.text).toBe('I add the type, then use it.');
    expect(answer.patchCalls?.map((c) => c.operation.path)).toEqual(['src/user.ts', 'src/app.ts']);
  });

  it('answers an empty patchCalls list for a text-only answer to a request offering the tool, and empty for nothing at all', async () => {
    standin.script({ text: 'Nothing to change: the type already exists.' }, { emptyOutput: true });
    const answer = await provider().generate(request({ applyPatch: true }));
    expect(answer.patchCalls).toEqual([]);
    expect(answer.text).toContain('Nothing to change');
    const empty = await failure(provider().generate(request({ applyPatch: true })), 'empty');
    expect(empty.billed).toBe(true);
  });

  it('refuses a call it cannot read as bad_response (billed)', async () => {
    standin.script({ patchCalls: [{ type: 'rename_file' as StandinPatchCall['type'], path: 'x.ts', diff: '' }] });
    const error = await failure(provider().generate(request({ applyPatch: true })), 'bad_response');
    expect(error.billed).toBe(true);
    expect(error.message).toContain('"rename_file"');
  });
});

describe('sending the outcomes back', () => {
  it('sends each outcome as an apply_patch_call_output, then the input as a user message, on the continued thread with the tool', async () => {
    standin.script({ patchCalls: EDITS.slice(0, 3) }, { text: 'Done: the type is added.' });
    const first = await provider().generate(request({ applyPatch: true }));
    const outputs: PatchCallOutput[] = first.patchCalls!.map((c, i) =>
      i === 1 ? { callId: c.callId, status: 'failed', output: "Hunk 1: context 'old' not found." } : { callId: c.callId, status: 'completed', output: 'applied' },
    );
    const second = await provider().generate(request({ applyPatch: true, previousResponseId: first.responseId, patchOutputs: outputs, input: 'The checks pass.' }));
    expect(second.text).toBe('Done: the type is added.');
    expect(second.patchCalls).toEqual([]);
    const sent = standin.requests[1]!;
    expect(sent.previousResponseId).toBe(first.responseId);
    expect(sent.tools).toEqual([{ type: 'apply_patch' }]);
    expect(sent.patchOutputs).toEqual(outputs.map((o) => ({ call_id: o.callId, status: o.status, output: o.output })));
    expect(sent.body.input).toEqual([
      ...outputs.map((o) => ({ type: 'apply_patch_call_output', call_id: o.callId, status: o.status, output: o.output })),
      { role: 'user', content: 'The checks pass.' },
    ]);
  });

  it('sends the outcomes alone when the input is empty, and the model may answer with more calls', async () => {
    standin.script({ patchCalls: EDITS.slice(2, 3) }, { patchCalls: EDITS.slice(0, 1) });
    const first = await provider().generate(request({ applyPatch: true }));
    const outputs: PatchCallOutput[] = [{ callId: first.patchCalls![0]!.callId, status: 'completed', output: 'deleted' }];
    const second = await provider().generate(request({ applyPatch: true, previousResponseId: first.responseId, patchOutputs: outputs, input: '' }));
    expect(standin.requests[1]!.body.input).toEqual([{ type: 'apply_patch_call_output', call_id: outputs[0]!.callId, status: 'completed', output: 'deleted' }]);
    expect(second.patchCalls?.map((c) => c.operation.type)).toEqual(['create_file']);
    expect(second.text).toBe('');
  });

  it('refuses outcomes without the response they answer, sending nothing', async () => {
    const error = await failure(provider().generate(request({ applyPatch: true, patchOutputs: [{ callId: 'call_1', status: 'completed', output: 'ok' }] })), 'bad_request');
    expect(error.billed).toBe(false);
    expect(standin.requests).toHaveLength(0);
  });

  it('reports a lost thread as thread_lost, not as a refused tool', async () => {
    standin.script({ patchCalls: EDITS.slice(2, 3) });
    const first = await provider().generate(request({ applyPatch: true }));
    standin.loseResponse(first.responseId!);
    const outputs: PatchCallOutput[] = [{ callId: first.patchCalls![0]!.callId, status: 'completed', output: 'deleted' }];
    await failure(provider().generate(request({ applyPatch: true, previousResponseId: first.responseId, patchOutputs: outputs })), 'thread_lost');
  });
});

describe('a model that does not take the tool', () => {
  it("maps OpenAI's 400 \"Tool 'apply_patch' is not supported with <model>\" to tool_unsupported, not billed", async () => {
    standin.script(badRequest("Tool 'apply_patch' is not supported with gpt-4o-mini.", 'tools'));
    const error = await failure(provider().generate(request({ model: 'gpt-4o-mini', applyPatch: true })), 'tool_unsupported');
    expect(error.billed).toBe(false);
    expect(error.code).toBe('model_unavailable');
    expect(error.message).toBe("gpt-4o-mini does not take the apply_patch tool (HTTP 400): Tool 'apply_patch' is not supported with gpt-4o-mini.");
    expect(error.hint).toContain('answer text');
  });

  it('maps the refusals of OpenAI-compatible servers (unknown tool type, no tools at all) to tool_unsupported', async () => {
    standin.script(
      badRequest("Invalid value: 'apply_patch'. Supported values are: 'function' and 'custom'.", 'tools[0].type'),
      badRequest('llama3:8b does not support tools'),
      { error: { status: 422, message: 'Unsupported tool type: apply_patch', param: null }, ...fast },
    );
    for (let i = 0; i < 3; i += 1) await failure(provider().generate(request({ applyPatch: true })), 'tool_unsupported');
  });

  it('keeps the same 400 a bad_request when the request did not offer the tool', async () => {
    standin.script(badRequest("Tool 'apply_patch' is not supported with gpt-4o-mini.", 'tools'));
    await failure(provider().generate(request()), 'bad_request');
  });

  it('keeps a refusal of planexec\'s own outcome items a bad_request, though it names apply_patch', async () => {
    standin.script({ patchCalls: EDITS.slice(2, 3) });
    const first = await provider().generate(request({ applyPatch: true }));
    const error = await failure(
      provider().generate(request({ applyPatch: true, previousResponseId: first.responseId, patchOutputs: [{ callId: 'call_unknown', status: 'completed', output: 'x' }] })),
      'bad_request',
    );
    expect(error.message).toContain('No tool call found for apply_patch call output');
  });
});

describe('refusesApplyPatch', () => {
  it('tells a refused tool from other bad requests', () => {
    expect(refusesApplyPatch(400, "Tool 'apply_patch' is not supported with gpt-4o.", 'tools')).toBe(true);
    expect(refusesApplyPatch(400, "Hosted tool 'apply_patch' is not supported with gpt-4o.", null)).toBe(true);
    expect(refusesApplyPatch(400, 'Tools are not supported for this model.', null)).toBe(true);
    expect(refusesApplyPatch(400, "Invalid value: 'apply_patch'.", 'tools[0].type')).toBe(true);
    expect(refusesApplyPatch(401, "Tool 'apply_patch' is not supported with gpt-4o.", 'tools')).toBe(false);
    expect(refusesApplyPatch(400, "Unsupported parameter: 'max_tokens' is not supported with this model.", 'max_tokens')).toBe(false);
    expect(refusesApplyPatch(400, 'No tool output found for apply_patch call call_1.', 'input')).toBe(false);
    expect(refusesApplyPatch(400, "Invalid 'input[0].call_id': unknown apply_patch call.", 'input[0].call_id')).toBe(false);
    expect(refusesApplyPatch(400, "The model 'gpt-9' does not exist.", 'model')).toBe(false);
  });
});

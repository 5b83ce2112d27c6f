// Issue 9: each role on its own provider, wired by compose() from the settings. The planner on the
// Responses API and the executor on Chat Completions, both against the local stand-in: every request
// goes to its role's API, the journal records each call's provider, and workflow_status shows the
// provider and model of the calls and prices them by the rule of each provider.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { compose, effectivePrices } from '../../src/main.js';
import { ScriptedModelProvider } from '../support/fakes.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';
import { plan, workflowResponder } from '../support/responders.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

const TWO = plan([{ id: 's1' }, { id: 's2', depends_on: ['s1'] }]);
const journal = (x: Harness) => x.db.prepare('SELECT role, purpose, provider, model FROM model_calls ORDER BY id').all();

async function runTwo(x: Harness): Promise<string> {
  const planned = await x.ok<{ workflow_id: string }>('plan_task', { request: 'Build the thing' });
  await x.ok('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's1' });
  await x.ok('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's2' });
  await x.ok('review_results', { workflow_id: planned.workflow_id });
  return planned.workflow_id;
}

describe('planner on responses, executor on chat', () => {
  it('sends each role to its own API, journals the provider of every call, and workflow_status shows them per model', async () => {
    h = await startHarness({ env: { PLANEXEC_EXECUTOR_PROVIDER: 'chat', PLANEXEC_LEASE_MS: '600000' }, standin: { responder: workflowResponder(TWO) } });
    const workflow_id = await runTwo(h);

    expect(h.standin.requests.map((r) => [r.endpoint, r.model])).toEqual([
      ['responses', 'gpt-5.4'],
      ['chat.completions', 'gpt-5.4-mini'],
      ['chat.completions', 'gpt-5.4-mini'],
      ['responses', 'gpt-5.4'],
    ]);
    expect(journal(h)).toEqual([
      { role: 'planner', purpose: 'plan', provider: 'responses', model: 'gpt-5.4' },
      { role: 'executor', purpose: 'execute', provider: 'chat', model: 'gpt-5.4-mini' },
      { role: 'executor', purpose: 'execute', provider: 'chat', model: 'gpt-5.4-mini' },
      { role: 'planner', purpose: 'review', provider: 'responses', model: 'gpt-5.4' },
    ]);

    const result = await h.call('workflow_status', { workflow_id });
    const status = result.structuredContent as any;
    const tokens = (endpoint: string, field: 'inputTokens' | 'cachedTokens' | 'outputTokens') =>
      h!.standin.requests.filter((r) => r.endpoint === endpoint).reduce((sum, r) => sum + r.usage![field], 0);
    expect(status.calls_by_model).toEqual([
      { role: 'planner', provider: 'responses', model: 'gpt-5.4', calls: 2, input_tokens: tokens('responses', 'inputTokens'), cached_tokens: tokens('responses', 'cachedTokens'), output_tokens: tokens('responses', 'outputTokens') },
      {
        role: 'executor',
        provider: 'chat',
        model: 'gpt-5.4-mini',
        calls: 2,
        input_tokens: tokens('chat.completions', 'inputTokens'),
        cached_tokens: tokens('chat.completions', 'cachedTokens'),
        output_tokens: tokens('chat.completions', 'outputTokens'),
      },
    ]);
    // Both bill per token: every call in USD, none on a subscription.
    expect(status.cost).toMatchObject({ quota_units: 2.6, baseline_quota_units: 4, subscription_calls: 0, unpriced_models: [] });
    expect(status.cost.usd).toBeGreaterThan(0);
    expect(textOf(result)).toMatch(/Calls: planner responses\/gpt-5\.4 2 \(\d+ in, \d+ out\); executor chat\/gpt-5\.4-mini 2 /);
  });

  it('prices a model the price table lacks at $0 when a local chat server runs it, and warns about nothing', async () => {
    h = await startHarness({
      env: { PLANEXEC_EXECUTOR_PROVIDER: 'chat', PLANEXEC_EXECUTOR_MODEL: 'qwen2.5-coder:7b', PLANEXEC_LEASE_MS: '600000' },
      standin: { responder: workflowResponder(TWO) },
    });
    const workflow_id = await runTwo(h);
    const status = (await h.ok<any>('workflow_status', { workflow_id }));
    expect(status.calls_by_model.map((m: any) => [m.role, m.provider, m.model, m.calls])).toEqual([
      ['planner', 'responses', 'gpt-5.4', 2],
      ['executor', 'chat', 'qwen2.5-coder:7b', 2],
    ]);
    // The stand-in is on 127.0.0.1: its model costs nothing, so usd is the planner's calls alone.
    const plannerUsd = h.standin.requests
      .filter((r) => r.model === 'gpt-5.4')
      .reduce((sum, r) => sum + ((r.usage!.inputTokens - r.usage!.cachedTokens) * 2.5 + r.usage!.cachedTokens * 0.25 + r.usage!.outputTokens * 15) / 1_000_000, 0);
    expect(status.cost.usd).toBeCloseTo(plannerUsd, 8);
    expect(status.cost).toMatchObject({ quota_units: 2, baseline_quota_units: 4, savings_pct: 50, unpriced_models: [] });
    expect(status.cost.baseline_usd).toBeGreaterThan(status.cost.usd);
    expect(status.warnings).toBeUndefined();
  });

  it('leaves a model the price table lacks unpriced when the chat server is not local (it cannot know its price)', async () => {
    const settings = (baseURL: string) =>
      loadConfig({ PLANEXEC_EXECUTOR_PROVIDER: 'chat', PLANEXEC_EXECUTOR_BASE_URL: baseURL, PLANEXEC_EXECUTOR_MODEL: 'qwen2.5-coder:32b', PLANEXEC_DB: ':memory:' });
    expect(effectivePrices(settings('http://127.0.0.1:11434/v1'))['qwen2.5-coder:32b']).toEqual({ input: 0, cached: 0, output: 0, quota: 0 });
    expect(effectivePrices(settings('https://openrouter.ai/api/v1'))['qwen2.5-coder:32b']).toBeUndefined();
    // The same model on the Responses API is never free, whatever its endpoint.
    const responses = loadConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', PLANEXEC_EXECUTOR_MODEL: 'qwen2.5-coder:32b', PLANEXEC_DB: ':memory:' });
    expect(effectivePrices(responses)['qwen2.5-coder:32b']).toBeUndefined();
  });
});

describe('compose', () => {
  it('takes a replacement for one role and builds the other from the settings, journaling the configured provider kinds', async () => {
    const scripted = new ScriptedModelProvider([{ text: 'OUTPUT-OF-s1' }]);
    h = await startHarness({ env: { PLANEXEC_EXECUTOR_PROVIDER: 'chat', PLANEXEC_LEASE_MS: '600000' }, standin: { responder: workflowResponder(plan([{ id: 's1' }])) }, models: { executor: scripted } });
    const planned = await h.ok<{ workflow_id: string }>('plan_task', { request: 'One step' });
    await h.ok('execute_subtask', { workflow_id: planned.workflow_id, subtask_id: 's1' });
    expect(h.standin.requests.map((r) => r.endpoint)).toEqual(['responses']);
    expect(scripted.requests.map((r) => r.role)).toEqual(['executor']);
    expect(journal(h)).toEqual([
      { role: 'planner', purpose: 'plan', provider: 'responses', model: 'gpt-5.4' },
      { role: 'executor', purpose: 'execute', provider: 'chat', model: 'gpt-5.4-mini' },
    ]);
  });

  it('reports, per provider, what keeps it from making calls: the roles that need a key they lack, and a missing Codex CLI', async () => {
    const config = loadConfig({
      PLANEXEC_DB: ':memory:',
      PLANEXEC_PLANNER_PROVIDER: 'codex',
      PLANEXEC_CODEX_BIN: '/nonexistent/codex',
      PLANEXEC_EXECUTOR_PROVIDER: 'chat',
      PLANEXEC_EXECUTOR_BASE_URL: 'http://localhost:11434/v1',
    });
    const c = await compose(config);
    try {
      // The local chat server needs no key; the Codex CLI is missing.
      expect(c.providerProblems()).toEqual([{ roles: ['planner'], kind: 'codex', message: expect.stringMatching(/^The Codex CLI was not found: '\/nonexistent\/codex' is not an executable file \(PLANEXEC_CODEX_BIN\)\. Install the Codex CLI/) }]);
    } finally {
      c.runtime.stop();
      await c.close();
    }
    const keyless = await compose(loadConfig({ PLANEXEC_DB: ':memory:' }));
    try {
      // Both roles on one Responses provider without a key: one problem naming both roles and OPENAI_API_KEY.
      expect(keyless.providerProblems()).toEqual([{ roles: ['planner', 'executor'], kind: 'responses', message: expect.stringMatching(/^OPENAI_API_KEY is not set/) }]);
    } finally {
      keyless.runtime.stop();
      await keyless.close();
    }
    const ownKey = await compose(loadConfig({ PLANEXEC_DB: ':memory:', PLANEXEC_EXECUTOR_API_KEY: 'sk-exec' }));
    try {
      // Each role on its own instance (different keys): only the planner lacks one.
      expect(ownKey.providerProblems()).toEqual([{ roles: ['planner'], kind: 'responses', message: expect.stringMatching(/^OPENAI_API_KEY is not set/) }]);
    } finally {
      ownKey.runtime.stop();
      await ownKey.close();
    }
  });
});

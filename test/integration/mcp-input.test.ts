// What hosts see of the tools before calling them, and how strictly calls are read: tools/list
// stays small, every input schema is closed (additionalProperties: false), and an unknown field is
// an isError result that names it (with the right name when one is close), never silently dropped.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOLS } from '../../src/mcp/tools/index.js';
import { startHarness, textOf, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { PLANEXEC_LEASE_MS: '600000' } });
});
afterAll(async () => {
  await h.close();
});

/** Every object schema in a JSON Schema, with its path. */
function objectsIn(schema: any, path = '$'): Array<{ path: string; schema: any }> {
  if (!schema || typeof schema !== 'object') return [];
  const here = schema.type === 'object' || schema.properties ? [{ path, schema }] : [];
  const nested = [
    ...Object.entries(schema.properties ?? {}).flatMap(([k, v]) => objectsIn(v, `${path}.${k}`)),
    ...(schema.items ? objectsIn(schema.items, `${path}[]`) : []),
    ...(schema.anyOf ?? []).flatMap((s: any, i: number) => objectsIn(s, `${path}|${i}`)),
  ];
  return [...here, ...nested];
}

describe('tools/list', () => {
  it('costs at most 6,000 o200k tokens in all', async () => {
    const list = await h.client.listTools();
    expect(countTokens(JSON.stringify(list))).toBeLessThanOrEqual(6_000);
  });

  it('closes every input object: additionalProperties is false at every level', async () => {
    const { tools } = await h.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS.map((t) => t.name));
    for (const tool of tools) {
      const objects = objectsIn(tool.inputSchema);
      expect(objects.length, tool.name).toBeGreaterThan(0);
      for (const o of objects) expect(o.schema.additionalProperties, `${tool.name} ${o.path}`).toBe(false);
    }
  });
});

describe('unknown fields', () => {
  it('plan_task with `file` for `files` is refused, names the field and suggests the right one, and calls no model', async () => {
    const before = h.standin.requests.length;
    const result = await h.call('plan_task', { request: 'Add a health check.', file: ['src/app.ts'] });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/unknown field "file"/i);
    expect(textOf(result)).toMatch(/did you mean "files"\?/);
    expect(h.standin.requests.length).toBe(before);
  });

  it('every tool refuses an unknown top-level field by name', async () => {
    const { tools } = await h.client.listTools();
    for (const tool of tools) {
      const result = await h.call(tool.name, { workflow_id: 'wf-000000000000', zzz_not_a_field: 1 });
      expect(result.isError, tool.name).toBe(true);
      expect(textOf(result), tool.name).toMatch(/unknown field "zzz_not_a_field"/i);
    }
  });

  it('names every unknown field, nested ones with their path, and suggests close names', async () => {
    const result = await h.call('plan_task', { request: 'x', contxt: 'y', budget: { planner_token: 5 } });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/unknown field "contxt" \(did you mean "context"\?\)/i);
    expect(text).toMatch(/unknown field "planner_token" \(did you mean "planner_tokens"\?\) at budget/i);

    const review = await h.call('review_results', { workflow_id: 'wf-000000000000', decisions: [{ subtask_id: 's1', verdict: 'approve', note: 'ok' }] });
    expect(review.isError).toBe(true);
    expect(textOf(review)).toMatch(/unknown field "note" \(the fields are: subtask_id, verdict, feedback\) at decisions\[0\]/i);
  });

  it('suggests nothing when no field is close', async () => {
    const result = await h.call('workflow_status', { colour: 'blue' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/unknown field "colour"/i);
    expect(textOf(result)).not.toMatch(/did you mean/);
  });
});

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toStrictJsonSchema } from '../../src/core/json-schema.js';
import { PlanSchema } from '../../src/core/plan.js';
import { ReviewSchema } from '../../src/core/review.js';

type Node = Record<string, unknown>;

/** Every object schema inside `node`, with its path. */
function objects(node: unknown, path = '#'): [string, Node][] {
  if (!node || typeof node !== 'object') return [];
  const n = node as Node;
  const here: [string, Node][] = n.type === 'object' ? [[path, n]] : [];
  const props = (n.properties ?? {}) as Record<string, unknown>;
  return [
    ...here,
    ...Object.entries(props).flatMap(([k, v]) => objects(v, `${path}.${k}`)),
    ...objects(n.items, `${path}[]`),
  ];
}

describe('toStrictJsonSchema', () => {
  it('toStrictJsonSchema makes every object of the plan and review schemas strict: all properties required, no others', async () => {
    for (const schema of [PlanSchema, ReviewSchema]) {
      const json = toStrictJsonSchema(schema);
      const found = objects(json);
      expect(found.map(([p]) => p)).toEqual(schema === PlanSchema ? ['#', '#.subtasks[]'] : ['#', '#.reviews[]']);
      for (const [path, obj] of found) {
        expect(obj.additionalProperties, path).toBe(false);
        expect(obj.required, path).toEqual(Object.keys(obj.properties as object));
      }
    }
  });

  it('toStrictJsonSchema leaves out $schema and keeps descriptions and enums', async () => {
    const json = toStrictJsonSchema(PlanSchema) as Node;
    expect(Object.keys(json)).not.toContain('$schema');
    const subtask = ((json.properties as Node).subtasks as Node).items as Node;
    expect((subtask.properties as Node).complexity).toEqual({
      type: 'string',
      enum: ['routine', 'complex'],
      description: 'routine: narrow, well-specified work for the cheap executor model; complex: needs the planner model.',
    });
  });

  it('toStrictJsonSchema turns a small zod object into the expected JSON Schema', async () => {
    expect(toStrictJsonSchema(z.object({ a: z.string(), b: z.array(z.number()) }))).toEqual({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'array', items: { type: 'number' } } },
      required: ['a', 'b'],
      additionalProperties: false,
    });
  });
});

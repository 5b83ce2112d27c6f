import { z } from 'zod';

const cache = new WeakMap<z.ZodType, Record<string, unknown>>();

/**
 * JSON Schema for a zod schema, in the form both the Responses API's strict structured output and
 * the files under schemas/ use: every property required, no additional properties, no `$schema`.
 * Converted once per schema: the same object is sent with every planner call.
 */
export function toStrictJsonSchema(schema: z.ZodType): Record<string, unknown> {
  let json = cache.get(schema);
  if (!json) {
    const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'output' }) as Record<string, unknown>;
    json = rest;
    cache.set(schema, json);
  }
  return json;
}

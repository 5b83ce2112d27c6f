import { z } from 'zod';

/**
 * JSON Schema for a zod schema, in the form both the Responses API's strict structured output and
 * the files under schemas/ use: every property required, no additional properties, no `$schema`.
 */
export function toStrictJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'output' }) as Record<string, unknown>;
  return rest;
}

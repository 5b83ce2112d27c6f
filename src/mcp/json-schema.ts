// The JSON Schemas planexec advertises for its tools (tools/list) and writes to schemas/: zod's
// conversion, made portable and short. tools/list is read by every host on every session, so each
// keyword costs tokens there; and some hosts map schemas onto single-`type` dialects (Gemini's
// OpenAPI subset), which the MCP Inspector warns about.
import { z } from 'zod';

/** zod's bounds for a safe integer, which it writes on every int; they tell a host nothing. */
const SAFE_MAX = Number.MAX_SAFE_INTEGER;

/**
 * The JSON Schema of a tool's input (`io: 'input'`) or output (`io: 'output'`) zod schema:
 * - no `$schema`: the keywords used mean the same in draft-07 and 2020-12 (MCP's default dialect);
 * - a nullable field is `anyOf: [{type}, {type: "null"}]`, not a `type` array (portable);
 * - no ±(2^53 − 1) bounds on integers;
 * - output objects do not forbid additional properties (the contract: "more fields may be added");
 *   input objects do (unknown fields are refused, see schemas.ts).
 * Throws if the schema uses a keyword that differs between the two drafts (a tuple).
 */
export function toolJsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  // `unrepresentable: 'any'` lets sameAs() (schemas.ts) stand as the object its meta describes.
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return tidy(json, io) as Record<string, unknown>;
}

function tidy(node: unknown, io: 'input' | 'output'): unknown {
  if (Array.isArray(node)) return node.map((n) => tidy(n, io));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'minimum' && value === -SAFE_MAX) continue;
    if (key === 'maximum' && value === SAFE_MAX) continue;
    if (key === 'additionalProperties' && value === false && io === 'output') continue;
    if (key === 'items' && Array.isArray(value)) throw new Error('A tuple (draft-07 `items` array) means something else in 2020-12; use an array.');
    if (key === 'definitions' || key === '$defs' || key === '$ref') throw new Error('Tool schemas are kept self-contained: no $ref.');
    out[key] = key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, tidy(v, io)])) : tidy(value, io);
  }
  if (Array.isArray(out.type)) {
    const { type, ...rest } = out;
    return { ...rest, anyOf: (type as string[]).map((t) => ({ type: t })) };
  }
  return out;
}

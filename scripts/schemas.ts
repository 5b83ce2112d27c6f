// JSON Schemas generated from the zod schemas: the plan and review answers (exactly as sent to the
// Responses API) and every tool's input and output. `npm run schemas` writes them to schemas/;
// test/unit/schemas.test.ts fails when the files are stale. The tools come from the registry.
import { toStrictJsonSchema } from '../src/core/json-schema.js';
import { PlanSchema } from '../src/core/plan.js';
import { ReviewSchema } from '../src/core/review.js';
import { toolJsonSchema } from '../src/mcp/json-schema.js';
import { TOOLS } from '../src/mcp/tools/index.js';

const DRAFT_7 = 'http://json-schema.org/draft-07/schema#';

/** File name (under schemas/) -> file content. */
export function generateSchemas(): Record<string, string> {
  const files: Record<string, object> = {
    'plan.schema.json': { $schema: DRAFT_7, title: 'planexec plan', ...toStrictJsonSchema(PlanSchema) },
    'review.schema.json': { $schema: DRAFT_7, title: 'planexec review', ...toStrictJsonSchema(ReviewSchema) },
  };
  for (const { name, input, output } of TOOLS) {
    // Exactly what tools/list advertises (src/mcp/json-schema.ts).
    files[`tools/${name}.input.schema.json`] = { title: `${name} input`, ...toolJsonSchema(input, 'input') };
    files[`tools/${name}.output.schema.json`] = { title: `${name} output`, ...toolJsonSchema(output, 'output') };
  }
  return Object.fromEntries(Object.entries(files).map(([file, schema]) => [file, `${JSON.stringify(schema, null, 2)}\n`]));
}

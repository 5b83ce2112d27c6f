import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSchemas } from '../../scripts/schemas.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('schemas/', () => {
  it('holds exactly the JSON Schemas generated from the zod schemas (run `npm run schemas` when this fails)', async () => {
    const expected = generateSchemas();
    const onDisk = Object.fromEntries(filesUnder('schemas').map((f) => [relative('schemas', f), readFileSync(f, 'utf8')]));
    expect(Object.keys(onDisk).sort()).toEqual(Object.keys(expected).sort());
    for (const [file, content] of Object.entries(expected)) expect(onDisk[file], file).toBe(content);
  });

  it('gives the planner a strict plan schema: every property required, nothing additional', async () => {
    const plan = JSON.parse(generateSchemas()['plan.schema.json']!);
    const item = plan.properties.subtasks.items;
    expect(plan.required).toEqual(['subtasks', 'coordination_notes']);
    expect(item.required).toEqual(['id', 'title', 'description', 'depends_on', 'complexity', 'output_format', 'relevant_files', 'writes', 'checks']);
    expect(item.additionalProperties).toBe(false);
    expect(plan.additionalProperties).toBe(false);
  });
});

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateSchemas } from './schemas.js';

for (const [file, content] of Object.entries(generateSchemas())) {
  const path = join('schemas', file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}

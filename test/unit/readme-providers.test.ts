// The README's provider table is PROVIDER_SETTINGS (src/adapters/providers.ts): a change to what a
// provider does shows up in both, or this fails.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROVIDER_KINDS, PROVIDER_SETTINGS, type ProviderDescription } from '../../src/adapters/providers.js';

const ROWS: Array<[string, keyof ProviderDescription]> = [
  ['talks to', 'wire'],
  ['settings', 'settings'],
  ['threads', 'threads'],
  ['caching', 'caching'],
  ['structured output', 'structuredOutput'],
  ['edits', 'edits'],
  ['cost', 'cost'],
];

describe('the README provider table', () => {
  it('has one column per provider kind and one row per aspect, each cell as PROVIDER_SETTINGS says', async () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(`| | ${PROVIDER_KINDS.map((k) => `\`${k}\``).join(' | ')} |`);
    for (const [label, key] of ROWS) {
      expect(readme).toContain(`| ${label} | ${PROVIDER_KINDS.map((k) => PROVIDER_SETTINGS[k][key]).join(' | ')} |`);
    }
  });
});

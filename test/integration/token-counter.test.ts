// The o200k counter over long text: the same count as gpt-tokenizer for ordinary text, and close to
// it (never under) for one long run with no space, which it counts in slices.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { GptTokenCounter } from '../../src/adapters/tokens/gpt-token-counter.js';

const counter = new GptTokenCounter();
const TEXT_ONLY = { disallowedSpecial: new Set<string>() };

describe('GptTokenCounter', () => {
  it('counts ordinary long text exactly as gpt-tokenizer does', () => {
    const prose = Array.from({ length: 3_000 }, (_, i) => `Line ${i}: the executor reads only what it needs,\tthen answers.  Done?\n`).join('');
    expect(prose.length).toBeGreaterThan(50_000);
    expect(counter.count(prose)).toBe(countTokens(prose, TEXT_ONLY));
    const code = Array.from({ length: 2_000 }, (_, i) => `export function f${i}(x: number): number { return x * ${i}; }`).join('\n');
    expect(counter.count(code)).toBe(countTokens(code, TEXT_ONLY));
  });

  it('counts one long run with no space close to the whole count, and not under it', () => {
    let run = '';
    for (let i = 0; run.length < 30_000; i++) run += String.fromCodePoint(i % 2 ? 0xa000 + ((i * 31) % 1100) : 0x3400 + ((i * 7919) % 6500));
    const whole = countTokens(run, TEXT_ONLY);
    const sliced = counter.count(run);
    expect(sliced).toBeGreaterThanOrEqual(whole);
    expect(sliced).toBeLessThanOrEqual(whole * 1.01);
  });

  it('counts a run of millions of letters', () => {
    expect(counter.count('x'.repeat(2_000_000))).toBeGreaterThan(0);
  });
});

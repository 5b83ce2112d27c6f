// Token counts with gpt-tokenizer's o200k_base encoding (the GPT-5 family's). Its tables take about a
// third of a second to load, so they are loaded on first use, not at start-up.
import { createRequire } from 'node:module';
import type { TokenCounter } from '../../core/ports.js';

type Encoding = { countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number };

const load = createRequire(import.meta.url);
const TEXT_ONLY = { disallowedSpecial: new Set<string>() };

export class GptTokenCounter implements TokenCounter {
  private encoding: Encoding | null = null;

  count(text: string): number {
    this.encoding ??= load('gpt-tokenizer/encoding/o200k_base') as Encoding;
    // Text that looks like a special token ("<|endoftext|>") is counted as plain text, not rejected.
    return this.encoding.countTokens(text, TEXT_ONLY);
  }
}

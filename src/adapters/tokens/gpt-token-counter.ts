// Token counts with gpt-tokenizer's o200k_base encoding (the GPT-5 family's). Its tables take about a
// third of a second to load, so they are loaded on first use, not at start-up.
import { createRequire } from 'node:module';
import type { TokenCounter } from '../../core/ports.js';

type Encoding = { countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number };

const load = createRequire(import.meta.url);
const TEXT_ONLY = { disallowedSpecial: new Set<string>() };

/** Texts longer than this are counted piece by piece (see count). */
const PIECE = 4_096;

export class GptTokenCounter implements TokenCounter {
  private encoding: Encoding | null = null;

  /**
   * o200k tokens of `text`. Text that looks like a special token ("<|endoftext|>") is counted as
   * plain text. A long text is counted in pieces of about 4 KB cut at whitespace where there is some:
   * the encoder's merge step is quadratic in the length of a run without whitespace (a base64 blob,
   * a minified file, 400 KB of one character would block the event loop for minutes), and a cut
   * moves the count by a token or so per piece — this counter serves estimates and budgets.
   */
  count(text: string): number {
    this.encoding ??= load('gpt-tokenizer/encoding/o200k_base') as Encoding;
    if (text.length <= PIECE) return this.encoding.countTokens(text, TEXT_ONLY);
    let total = 0;
    for (let start = 0; start < text.length; ) {
      let end = Math.min(text.length, start + PIECE);
      if (end < text.length) {
        const space = text.lastIndexOf(' ', end);
        if (space > start + PIECE / 2) end = space;
        // Never split a surrogate pair.
        const code = text.charCodeAt(end - 1);
        if (code >= 0xd800 && code <= 0xdbff) end -= 1;
      }
      total += this.encoding.countTokens(text.slice(start, end), TEXT_ONLY);
      start = end;
    }
    return total;
  }
}

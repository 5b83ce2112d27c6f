// Token counts with gpt-tokenizer's o200k_base encoding (the GPT-5 family's). Its tables take about a
// third of a second to load, so they are loaded on first use, not at start-up.
import { createRequire } from 'node:module';
import type { TokenCounter } from '../../core/ports.js';

type Encoding = { countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number };

const load = createRequire(import.meta.url);
const TEXT_ONLY = { disallowedSpecial: new Set<string>() };

/**
 * Longest slice counted in one go. gpt-tokenizer 4.0's byte-pair merge is quadratic in the length of
 * one pre-token (a run of letters, or of punctuation, with no space between): measured here, 100,000
 * CJK characters in one run take 1.2 s and 1,000,000 take 141 s, holding the event loop (and the
 * heartbeat) all that time. Slices of this size keep every count linear.
 */
const SLICE = 4_096;

/** The TokenCounter of a real process: o200k_base through gpt-tokenizer, tables loaded on the first count. */
export class GptTokenCounter implements TokenCounter {
  private encoding: Encoding | null = null;

  /**
   * o200k tokens of `text` (special-token strings counted as plain text). Long text is counted in
   * slices cut before a space that follows a non-space where there is one (then the count is the
   * same as the whole's for ordinary text); a run with no such space is cut where it must, which
   * counts the cut pre-token as two (a few tokens more than whole, never fewer in practice).
   */
  count(text: string): number {
    this.encoding ??= load('gpt-tokenizer/encoding/o200k_base') as Encoding;
    if (text.length <= SLICE) return this.encoding.countTokens(text, TEXT_ONLY);
    let total = 0;
    for (let start = 0; start < text.length; ) {
      let end = Math.min(text.length, start + SLICE);
      if (end < text.length) {
        const space = text.lastIndexOf(' ', end - 1);
        if (space > start + SLICE / 2 && !/\s/.test(text[space - 1]!)) end = space;
        else if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
      }
      total += this.encoding.countTokens(text.slice(start, end), TEXT_ONLY);
      start = end;
    }
    return total;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

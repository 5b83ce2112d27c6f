// Small text helpers shared by the prompt builders and the bounded tool results.

export interface Clipped {
  text: string;
  truncated: boolean;
  /** Length of the whole text, in characters. */
  total: number;
}

/** At most `max` characters of `text`, starting at `offset`, never splitting a surrogate pair. */
export function clip(text: string, max: number, offset = 0): Clipped {
  const start = Math.min(Math.max(0, offset), text.length);
  let end = Math.min(text.length, start + max);
  if (end < text.length && end > start && isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  return { text: text.slice(start, end), truncated: start > 0 || end < text.length, total: text.length };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The first line of a request, squeezed to one short line: what every executor is told the work is for. */
export function goalLine(request: string, max = 160): string {
  const firstLine = request.trim().split(/\r?\n/, 1)[0] ?? '';
  const squeezed = firstLine.replace(/\s+/g, ' ').trim();
  return squeezed.length <= max ? squeezed : `${squeezed.slice(0, max - 1).trimEnd()}…`;
}

const encoder = new TextEncoder();

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

// Runs before every test file: fails any test during which something writes to stdout. In the
// server, stdout carries the MCP protocol, so a stray write there corrupts the host's stream.
import { afterEach, beforeEach } from 'vitest';

const captured: string[] = [];
const originalWrite = process.stdout.write.bind(process.stdout);
const consoleMethods = ['log', 'info', 'debug', 'dir', 'table'] as const;
const originalConsole = Object.fromEntries(consoleMethods.map((m) => [m, console[m]]));

/** Returns and forgets what was written to stdout so far in this test. */
export function takeStdoutWrites(): string[] {
  return captured.splice(0);
}

beforeEach(() => {
  captured.length = 0;
  process.stdout.write = ((chunk: unknown) => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  for (const m of consoleMethods) console[m] = (...args: unknown[]) => void captured.push(args.map(String).join(' '));
});

afterEach(() => {
  process.stdout.write = originalWrite;
  for (const m of consoleMethods) console[m] = originalConsole[m] as never;
  const writes = takeStdoutWrites();
  if (writes.length) {
    throw new Error(`This test wrote to stdout, which carries the MCP protocol in the server: ${JSON.stringify(writes.join('').slice(0, 300))}`);
  }
});

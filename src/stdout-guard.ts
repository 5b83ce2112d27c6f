// In the stdio server, stdout carries MCP messages and nothing else: one stray line from any
// library (the OpenAI SDK under OPENAI_LOG=debug, a debug print in a dependency) corrupts the host's
// stream. The bin installs this guard before anything else is loaded: from then on console output
// and process.stdout.write go to stderr, and only the channel returned here reaches the real stdout.
// (A library that writes to file descriptor 1 itself, with fs.writeSync(1, ...), is not caught.)
import { Console } from 'node:console';
import { Writable } from 'node:stream';

let protocol: Writable | null = null;

/**
 * Routes console.log/info/debug/dir/table and process.stdout.write to stderr for the rest of the
 * process, and returns the one Writable that still writes to the real stdout (for the MCP transport;
 * it keeps stdout's back-pressure: write() answers false until stdout drains). Idempotent.
 */
export function guardStdout(): Writable {
  if (protocol) return protocol;
  const stdout = process.stdout;
  const writeStdout = stdout.write.bind(stdout) as (chunk: Uint8Array | string, callback: (error?: Error | null) => void) => boolean;
  protocol = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writeStdout(chunk, callback);
    },
  });
  const stderr = process.stderr;
  stdout.write = stderr.write.bind(stderr) as typeof stdout.write;
  const toStderr = new Console({ stdout: stderr, stderr });
  for (const method of ['log', 'info', 'debug', 'dir', 'table'] as const) {
    // eslint-disable-next-line no-console -- replacing the methods is the point: their output goes to stderr
    console[method] = toStderr[method].bind(toStderr);
  }
  return protocol;
}

/** Where MCP messages (and the CLI's --help/--version) go: the guard's channel once installed, else process.stdout. */
export function protocolStdout(): Writable {
  return protocol ?? process.stdout;
}

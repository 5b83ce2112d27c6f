// The stderr logger (pino). stdout belongs to the MCP protocol, so nothing here ever writes to it.
import { pino, type DestinationStream, type Logger } from 'pino';

/** pino's Logger, re-exported so that only this file imports pino. */
export type { Logger };

/**
 * A pino logger at `level` writing JSON lines to stderr (fd 2, synchronously). Every line passes
 * through `redact` on its way out: the message, every field, an error's message and stack, the
 * OpenAI SDK's debug lines. That is the one place all of them meet, so nothing logged, by us or by
 * a library through us, can carry a configured secret. `redact` must keep JSON valid (masking with
 * "[redacted]" does).
 */
export function createLogger(level: string, redact: (text: string) => string = (text) => text): Logger {
  const stderr = pino.destination({ fd: 2, sync: true });
  const out: DestinationStream = { write: (line: string) => void stderr.write(redact(line)) };
  return pino(
    {
      name: 'planexec',
      level,
      // Belt and braces: no code path logs a key, and these paths are masked if one ever tries.
      redact: { paths: ['apiKey', '*.apiKey', 'headers.authorization', '*.headers.authorization', 'OPENAI_API_KEY', '*.OPENAI_API_KEY'], censor: '[redacted]' },
    },
    out,
  );
}

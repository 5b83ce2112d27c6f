// The stderr logger (pino). stdout belongs to the MCP protocol, so nothing here ever writes to it.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino(
    {
      name: 'planexec',
      level,
      // Belt and braces: no code path logs a key, and these paths are masked if one ever tries.
      redact: { paths: ['apiKey', '*.apiKey', 'headers.authorization', '*.headers.authorization', 'OPENAI_API_KEY', '*.OPENAI_API_KEY'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

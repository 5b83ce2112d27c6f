// `npm run standin [-- --port N] [-- --delay-ms N]`: planexec's local OpenAI-compatible stand-in as a
// server of its own, to try planexec and every tool without a key (README, "Try it without a key").
// It answers the Responses API and Chat Completions on 127.0.0.1 with scripted plans, scripted
// executor answers and edits, and reviews that approve (scripts/lib/try-responder.ts); no model is
// called and nothing is billed. stdout gets one line: where it listens and the env to give planexec.
// stderr gets a line per request it answers. Ctrl-C (SIGINT) or SIGTERM stops it.
import { parseArgs } from 'node:util';
import { startOpenAIStandin, type OpenAIStandin, type Responder, type StandinRequest } from '../test/support/openai-standin.js';
import { tryItResponder } from './lib/try-responder.js';

/** The port when --port is not given: fixed, so the env line of the README works as written. */
const DEFAULT_PORT = 4010;
/** Requests kept in the stand-in's record (it records every request; a long session would grow without bound). */
const KEEP_REQUESTS = 50;

const USAGE = `Usage: npm run standin -- [--port N] [--delay-ms N]
  --port N      port on 127.0.0.1 (default ${DEFAULT_PORT}; 0: any free port)
  --delay-ms N  wait N ms before each answer, to watch progress or try cancel_workflow (default 0)`;

function fail(message: string, code: number): never {
  process.stderr.write(`planexec stand-in: ${message}\n`);
  process.exit(code);
}

/** A whole number from `min` to `max`, or exit 2 naming the flag. */
function wholeNumber(text: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) fail(`${flag} ${text}: must be a whole number from ${min} to ${max}.\n${USAGE}`, 2);
  return Number(text);
}

/** One line of what a request was and what the stand-in answered, for stderr. */
function describe(req: StandinRequest, reply: Awaited<ReturnType<Responder>>): string {
  const subtask = /^## Subtask ([^:\s]+):/m.exec(req.inputText)?.[1];
  const what = req.schemaName ?? (subtask ? `execute ${subtask}` : 'answer');
  const how =
    'patchCalls' in reply
      ? `${reply.patchCalls.length} edit(s) through apply_patch: ${reply.patchCalls.map((c) => `${c.type} ${c.path}`).join(', ')}`
      : 'json' in reply
        ? req.schemaName === 'plan'
          ? `${(reply.json as { subtasks: unknown[] }).subtasks.length} subtasks`
          : req.schemaName === 'review'
            ? 'approve'
            : 'summary'
        : 'text' in reply && reply.text.includes('*** Begin Patch')
          ? 'edits as a V4A patch in the text'
          : 'text';
  return `planexec stand-in: ${req.endpoint} ${req.model}: ${what} -> ${how}\n`;
}

async function main(): Promise<void> {
  let values: { port?: string; 'delay-ms'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { port: { type: 'string' }, 'delay-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = values.port === undefined ? DEFAULT_PORT : wholeNumber(values.port, '--port', 0, 65_535);
  const latencyMs = values['delay-ms'] === undefined ? 0 : wholeNumber(values['delay-ms'], '--delay-ms', 0, 600_000);

  let standin: OpenAIStandin | null = null;
  const responder: Responder = async (req) => {
    const reply = await tryItResponder(req);
    process.stderr.write(describe(req, reply));
    if (standin && standin.requests.length > KEEP_REQUESTS) standin.requests.splice(0, standin.requests.length - KEEP_REQUESTS);
    return reply;
  };
  try {
    standin = await startOpenAIStandin({ responder, port, latencyMs });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`port ${port} on 127.0.0.1 is in use (another stand-in?). Stop it, or pass another port: npm run standin -- --port 4011 (or --port 0 for any free port).`, 1);
    throw error;
  }
  const url = standin.baseURL;
  process.stdout.write(
    `planexec OpenAI stand-in (scripted plans, edits and approving reviews; no model, no cost) at ${url} - give planexec: OPENAI_BASE_URL=${url} OPENAI_API_KEY=anything\n`,
  );
  const stop = () => {
    void standin!.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error), 1));

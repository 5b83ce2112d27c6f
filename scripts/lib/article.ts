// The article's worked example (../shared/seeds/): a user-authentication feature, about 5 planner
// and 45 executor messages. A small Express/TypeScript workspace, a plan of 45 routine subtasks in
// four waves (so 1 plan + 4 reviews = 5 planner calls), executor answers of realistic size, and
// reviews that approve. Deterministic, so both modes of the benchmark see the same work.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Responder, StandinRequest } from '../../test/support/openai-standin.js';

export const AUTH_REQUEST = `Implement user authentication for the Express API in this workspace: registration with email and password, login and logout with server-side sessions, password hashing with scrypt, password reset by emailed token, rate limiting and account lockout on failed logins, an audit log of auth events, CSRF protection for cookie sessions, tests, and documentation.`;

const line = (i: number, topic: string) => `export function ${topic}Step${i}(input: string): string {\n  // ${topic}: handle case ${i} of the input and keep the result stable\n  return input.trim().toLowerCase() + ':${i}';\n}\n`;

/** Workspace files: path -> content (1.5 to 4 KB each, like small real modules). */
export const AUTH_FILES: Record<string, string> = {
  'src/models/user.ts': `export interface User {\n  id: string;\n  email: string;\n  passwordHash: string;\n  createdAt: Date;\n  failedLogins: number;\n  lockedUntil: Date | null;\n}\n\n${Array.from({ length: 14 }, (_, i) => line(i, 'user')).join('\n')}`,
  'src/db/schema.sql': `CREATE TABLE users (\n  id TEXT PRIMARY KEY,\n  email TEXT UNIQUE NOT NULL,\n  password_hash TEXT NOT NULL,\n  created_at TIMESTAMP NOT NULL\n);\n${Array.from({ length: 30 }, (_, i) => `CREATE INDEX idx_${i} ON users (email, created_at); -- lookup path ${i}`).join('\n')}\n`,
  'src/config.ts': `export const config = {\n  port: Number(process.env.PORT ?? 3000),\n  sessionSecret: process.env.SESSION_SECRET ?? '',\n  smtpUrl: process.env.SMTP_URL ?? '',\n};\n\n${Array.from({ length: 10 }, (_, i) => line(i, 'config')).join('\n')}`,
  'src/routes/auth.ts': `import { Router } from 'express';\n\nexport const auth = Router();\n\n${Array.from({ length: 22 }, (_, i) => line(i, 'route')).join('\n')}`,
  'src/middleware/session.ts': `import type { Request, Response, NextFunction } from 'express';\n\nexport function session(req: Request, res: Response, next: NextFunction) {\n  next();\n}\n\n${Array.from({ length: 16 }, (_, i) => line(i, 'session')).join('\n')}`,
  'test/auth.test.ts': `import { describe, it, expect } from 'vitest';\n\ndescribe('auth', () => {\n  it('works', () => expect(1).toBe(1));\n});\n\n${Array.from({ length: 12 }, (_, i) => line(i, 'fixture')).join('\n')}`,
  'README.md': `# Shop API\n\nA small Express API.\n\n## Running\n\n    npm install\n    npm start\n\n${Array.from({ length: 20 }, (_, i) => `- Endpoint ${i}: GET /items/${i} returns the item and its stock level.`).join('\n')}\n`,
};

export function writeAuthWorkspace(root: string): void {
  for (const [path, content] of Object.entries(AUTH_FILES)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

const WAVES: Array<Array<[string, string[]]>> = [
  [
    ['User model and types', ['src/models/user.ts']],
    ['Users table migration', ['src/db/schema.sql']],
    ['Password policy settings', ['src/config.ts']],
    ['Secrets and SMTP configuration', ['src/config.ts']],
    ['Session store interface', ['src/middleware/session.ts']],
    ['Auth error types', ['src/routes/auth.ts']],
    ['Email address validator', ['src/models/user.ts']],
    ['Rate-limit settings', ['src/config.ts']],
    ['Audit event types', ['src/models/user.ts']],
    ['Secure random token helper', ['src/config.ts']],
    ['Session cookie options', ['src/middleware/session.ts']],
    ['Test fixtures for users', ['test/auth.test.ts']],
  ],
  [
    ['scrypt password hashing', ['src/models/user.ts']],
    ['User repository', ['src/db/schema.sql', 'src/models/user.ts']],
    ['SQLite session store', ['src/middleware/session.ts']],
    ['Registration input validation', ['src/routes/auth.ts']],
    ['Signed token utilities', ['src/config.ts']],
    ['Failed-login counter', ['src/models/user.ts']],
    ['Audit logger', ['src/models/user.ts']],
    ['Cookie helper', ['src/middleware/session.ts']],
    ['Password reset token model', ['src/db/schema.sql', 'src/models/user.ts']],
    ['Email sender stub', ['src/config.ts']],
    ['User service', ['src/models/user.ts']],
    ['Test helpers for requests', ['test/auth.test.ts']],
  ],
  [
    ['POST /register route', ['src/routes/auth.ts']],
    ['POST /login route', ['src/routes/auth.ts']],
    ['POST /logout route', ['src/routes/auth.ts']],
    ['Session refresh', ['src/middleware/session.ts']],
    ['POST /reset-request route', ['src/routes/auth.ts']],
    ['POST /reset-confirm route', ['src/routes/auth.ts']],
    ['requireAuth middleware', ['src/middleware/session.ts']],
    ['Login rate-limit middleware', ['src/middleware/session.ts']],
    ['Audit wiring in the routes', ['src/routes/auth.ts']],
    ['CSRF protection', ['src/middleware/session.ts']],
    ['Account lockout', ['src/models/user.ts']],
    ['Auth error handler', ['src/routes/auth.ts']],
  ],
  [
    ['Unit tests: hashing', ['test/auth.test.ts']],
    ['Unit tests: sessions', ['test/auth.test.ts']],
    ['Integration tests: register and login', ['test/auth.test.ts']],
    ['Integration tests: password reset', ['test/auth.test.ts']],
    ['Middleware tests', ['test/auth.test.ts']],
    ['README: authentication section', ['README.md']],
    ['API reference for the auth routes', ['README.md']],
    ['Changelog entry', ['README.md']],
    ['Security notes', ['README.md']],
  ],
];

export function authPlan() {
  const subtasks = WAVES.flatMap((wave, w) =>
    wave.map(([title, files], i) => ({
      id: `w${w + 1}s${i + 1}`,
      title,
      description: `${title}: implement it for the authentication feature (registration, login, sessions, reset, rate limiting, audit). Follow the existing style of ${files.join(' and ')}; keep it self-contained and typed.`,
      depends_on: w === 0 ? [] : [`w${w}s${Math.min(i + 1, WAVES[w - 1]!.length)}`],
      complexity: 'routine',
      output_format: files[0]!.endsWith('.md') ? 'Markdown' : 'TypeScript or SQL code in one fenced block',
      relevant_files: files,
      writes: [],
      checks: [],
    })),
  );
  return { subtasks, coordination_notes: 'Four waves: foundations, services, routes and middleware, then tests and docs. Each builds on the one before.' };
}

/** A code answer of a size that varies by subtask (about 300 to 700 tokens). */
function codeAnswer(id: string): string {
  const n = 8 + (id.split('').reduce((a, c) => a + c.charCodeAt(0), 0) % 9);
  const body = Array.from({ length: n }, (_, i) => line(i, id.replace(/\W/g, ''))).join('\n');
  return `\`\`\`ts\n${body}\`\`\`\nAssumption: the session secret comes from config.sessionSecret.`;
}

export const authResponder: Responder = (req: StandinRequest) => {
  if (req.schemaName === 'plan') return { json: authPlan() };
  if (req.schemaName === 'review') {
    const ids = [...req.inputText.matchAll(/^### Subtask ([^:\s]+):/gm)].map((m) => m[1]!);
    return { json: { verdict: 'approve', reviews: ids.map((subtask_id) => ({ subtask_id, verdict: 'approve', feedback: '' })), summary: `Wave approved: ${ids.length} subtasks.` } };
  }
  if (req.schemaName === 'compaction') return { json: { summary: 'State summary.' } };
  const id = /## Subtask ([^:\s]+):/.exec(req.inputText)?.[1] ?? 'x';
  return { text: codeAnswer(id) };
};

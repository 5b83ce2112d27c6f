// The shapes tool results carry (snake_case, as the product contract names them).
import type { CoreDeps } from './deps.js';
import { clipPage, type Clipped } from './text.js';
import type { Subtask } from './types.js';

/**
 * o200k tokens of one output page as sent (JSON-escaped). A result carries the page twice (in
 * structuredContent and in its text rendering), and the whole result stays under ~10,000 tokens.
 */
export const OUTPUT_PAGE_TOKENS = 3_000;

/** The page of a subtask's output a tool result shows: settings.resultBytes bytes, OUTPUT_PAGE_TOKENS tokens. */
export function outputPage(d: CoreDeps, output: string, offset = 0): Clipped {
  return clipPage(output, offset, d.settings.resultBytes, OUTPUT_PAGE_TOKENS, (text) => d.tokens.count(text));
}

export interface PlannedSubtaskView {
  id: string;
  title: string;
  description: string;
  depends_on: string[];
  complexity: Subtask['complexity'];
  role: Subtask['role'];
  output_format: string;
  relevant_files: string[];
  writes: string[];
  checks: string[];
  status: Subtask['status'];
}

export function plannedSubtaskView(s: Subtask): PlannedSubtaskView {
  return {
    id: s.id,
    title: s.title,
    description: s.description,
    depends_on: s.depends_on,
    complexity: s.complexity,
    role: s.role,
    output_format: s.output_format,
    relevant_files: s.relevant_files,
    writes: s.writes,
    checks: s.checks,
    status: s.status,
  };
}

export interface RunView {
  attempt: number;
  role: Subtask['role'];
  model: string;
}

export interface SubtaskStatusView {
  id: string;
  title: string;
  status: Subtask['status'];
  role: Subtask['role'];
  model: string | null;
  attempts: number;
  depends_on: string[];
  /** Every execution so far: the attempt and the rung (role, model) it ran on. */
  runs: RunView[];
}

export function subtaskStatusView(s: Subtask, runs: RunView[] = []): SubtaskStatusView {
  return { id: s.id, title: s.title, status: s.status, role: s.role, model: s.model, attempts: s.attempts, depends_on: s.depends_on, runs };
}

// Stand-in responders for whole workflows: a fixed plan, executor outputs named after their
// subtask, and reviews that approve what they are shown (unless told otherwise).
import type { Responder, StandinReply, StandinRequest } from './openai-standin.js';

export interface PlanSubtask {
  id: string;
  depends_on?: string[];
  complexity?: 'routine' | 'complex';
  relevant_files?: string[];
  writes?: string[];
  checks?: string[];
}

export function plan(subtasks: PlanSubtask[]) {
  return {
    subtasks: subtasks.map((s) => ({
      id: s.id,
      title: `Title ${s.id}`,
      description: `Do ${s.id}.`,
      depends_on: s.depends_on ?? [],
      complexity: s.complexity ?? 'routine',
      output_format: 'text',
      relevant_files: s.relevant_files ?? [],
      writes: s.writes ?? [],
      checks: s.checks ?? [],
    })),
    coordination_notes: '',
  };
}

/** Three waves: a1 a2 a3 -> b1 (a1, a2), b2 (a3) -> c1 (b1, b2). */
export const THREE_WAVES = plan([
  { id: 'a1' },
  { id: 'a2' },
  { id: 'a3' },
  { id: 'b1', depends_on: ['a1', 'a2'] },
  { id: 'b2', depends_on: ['a3'] },
  { id: 'c1', depends_on: ['b1', 'b2'] },
]);

/** The subtask an executor request is for. */
export function subtaskOf(req: StandinRequest): string | null {
  return /## Subtask ([^:\s]+):/.exec(req.inputText)?.[1] ?? null;
}

/** The subtasks a review request lists. */
export function reviewedIn(req: StandinRequest): string[] {
  return [...req.inputText.matchAll(/^### Subtask ([^:\s]+):/gm)].map((m) => m[1]!);
}

export interface WorkflowResponderOptions {
  /** Delay of every executor reply. */
  executorDelayMs?: number;
  /** Delay of planner replies (plan, review). */
  plannerDelayMs?: number;
  /** Overrides the reply for an executor request of a subtask (e.g. { hang: true }). */
  executor?: (subtaskId: string, req: StandinRequest) => StandinReply | undefined;
  /** The verdict for a reviewed subtask (default approve). */
  verdict?: (subtaskId: string) => 'approve' | 'revise' | 'escalate';
}

export function workflowResponder(planJson: unknown, o: WorkflowResponderOptions = {}): Responder {
  return (req) => {
    if (req.schemaName === 'plan') return { json: planJson, delayMs: o.plannerDelayMs ?? 0 };
    if (req.schemaName === 'compaction') return { json: { summary: 'State summary: the work goes on as planned.' }, delayMs: o.plannerDelayMs ?? 0 };
    if (req.schemaName === 'review') {
      const reviews = reviewedIn(req).map((subtask_id) => {
        const verdict = o.verdict?.(subtask_id) ?? 'approve';
        return { subtask_id, verdict, feedback: verdict === 'approve' ? '' : `Feedback on ${subtask_id}.` };
      });
      const worst = reviews.some((r) => r.verdict === 'escalate') ? 'escalate' : reviews.some((r) => r.verdict === 'revise') ? 'revise' : 'approve';
      return { json: { verdict: worst, reviews, summary: 'Reviewed.' }, delayMs: o.plannerDelayMs ?? 0 };
    }
    const id = subtaskOf(req) ?? '?';
    return o.executor?.(id, req) ?? { text: `OUTPUT-OF-${id}`, delayMs: o.executorDelayMs ?? 0 };
  };
}

export const until = async (condition: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

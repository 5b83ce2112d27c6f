// Asks the human through the host: an MCP elicitation form (approve / revise with notes / cancel),
// offered only when the client declared the elicitation capability.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { clip } from '../core/text.js';
import type { AskHuman } from '../core/types.js';
import type { Logger } from '../log.js';

/** Characters of the planner's question shown in the form (reviews written before REVIEW_LIMITS may be longer). */
const QUESTION_CHARS = 4_000;

/** How long the host may take to answer: a person is reading. */
const ANSWER_TIMEOUT_MS = 30 * 60_000;

const DECISION_FORM = {
  type: 'object' as const,
  properties: {
    decision: {
      type: 'string' as const,
      title: 'Decision',
      description: 'approve: accept the output as it is. revise: run the subtask again with your notes. cancel: stop the workflow (completed work is kept).',
      enum: ['approve', 'revise', 'cancel'],
    },
    notes: { type: 'string' as const, title: 'Notes', description: 'For revise: what to change. Shown to the model on the next attempt.' },
  },
  required: ['decision'],
};

/**
 * An AskHuman that shows the host's human a decision form (MCP elicitation, form mode), or undefined when
 * the client did not declare the elicitation capability. The question is cut to 4,000 characters; the
 * form waits up to 30 minutes, and closes when `signal` (the request's) or the workflow's signal aborts.
 * Answers null, never throws, when the human declines or dismisses it, or the host cannot ask (logged).
 */
export function humanAsker(server: McpServer, signal: AbortSignal, log: Logger): AskHuman | undefined {
  if (!server.server.getClientCapabilities()?.elicitation) return undefined;
  return async (q, workflowSignal) => {
    const message = [
      `planexec: subtask ${q.subtaskId} "${q.title}" of workflow ${q.workflowId} needs your decision.`,
      `Why: ${clipped(q.question)}`,
      q.output ? `Its latest output begins:\n${q.output}` : 'It has no output yet.',
    ].join('\n\n');
    try {
      const both = workflowSignal ? AbortSignal.any([signal, workflowSignal]) : signal;
      const result = await server.server.elicitInput({ mode: 'form', message, requestedSchema: DECISION_FORM }, { signal: both, timeout: ANSWER_TIMEOUT_MS });
      if (result.action !== 'accept' || !result.content) return null;
      const verdict = result.content.decision;
      if (verdict !== 'approve' && verdict !== 'revise' && verdict !== 'cancel') return null;
      return { verdict, feedback: typeof result.content.notes === 'string' ? result.content.notes : '' };
    } catch (error) {
      // The host could not ask (or the request was cancelled): the subtask stays needs_human.
      log.info({ err: error }, 'elicitation failed; leaving the decision to review_results');
      return null;
    }
  };
}

function clipped(text: string): string {
  const c = clip(text, QUESTION_CHARS);
  return c.truncated ? `${c.text}… [cut: workflow_status with subtask_id shows the rest]` : c.text;
}

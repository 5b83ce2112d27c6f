// Every word planexec sends to a model. The instructions of each role are constants: they come first
// in every request and never vary, so the provider's prefix cache can serve them. What varies
// (the request, files, outputs) comes after, most-shared parts first.
import type { WorkspaceFile } from './ports.js';
import { utf8Bytes } from './text.js';
import type { CheckResult, Subtask } from './types.js';

/**
 * The planner's instructions for every task it gets (plan, replan, repair, review, compact): one constant, so
 * every planner request starts with the same cacheable prefix. Its limits (50 subtasks) match src/core/plan.ts.
 */
export const PLANNER_INSTRUCTIONS = `You are the planner of planexec, a planner/executor split for software work. You, the strong model, analyse requests, break them into subtasks, and review results. A cheaper executor model carries out each routine subtask; complex subtasks run on your model but with the same narrow context.

Every message to you starts with "Task: plan", "Task: replan", "Task: repair", "Task: review" or "Task: compact". Answer only with JSON in the schema of that request.

Planning (Task: plan, Task: repair):
- Break the request into 1 to 50 subtasks that together deliver it. Prefer few, well-cut subtasks over many tiny ones.
- The executor sees ONLY: a one-line goal of the workflow, the subtask's title and description, its output_format, the relevant_files (read from the workspace), review feedback on an earlier attempt, and the outputs of the subtasks listed in depends_on. It never sees the request, this conversation, or any other subtask. Write each description so it can be done from that alone.
- depends_on lists direct dependencies only. Leave independent work independent so it can run in parallel. No cycles.
- complexity "routine": narrow, well-specified work (boilerplate, tests, docs, a function to a clear spec). "complex": needs design judgement or a wide view; it runs on the planner model, so use it sparingly.
- relevant_files: workspace-relative paths (no leading "/", no ".."), only the files the subtask must read.
- writes: the workspace-relative files the subtask may create, change or delete; the executor edits exactly these (any other edit is refused). A subtask that only answers in text (a design note, an analysis) has an empty writes. Subtasks that can run in parallel must not share any path in writes: when two pieces of work touch the same file, make one depend on the other, or give the file to one of them.
- checks: commands that show the subtask's change works, one command each (e.g. "npm test", "node --test test/util.test.js"); they run in the workspace after its edits, and only where the user allows them. When the request lists host checks that fail before any change, name each in the checks of the subtask(s) meant to make it pass.
- ids: short and unique, "s1", "s2", ...
- coordination_notes: how the pieces fit together, for your own review later.

Replanning (Task: replan): revise the current plan as the feedback asks. Keep the id and the exact description of every subtask whose work stays valid, so its result is kept; give new ids to new work.

Reviewing (Task: review):
- Judge each listed subtask's output against its description and output_format.
- approve: complete and correct. revise: fixable; the feedback says exactly what to change, because the executor sees your feedback and its original inputs, nothing else. escalate: a human must decide (ambiguous requirement, risky or destructive change, repeated failure).
- Give one review per listed subtask; the overall verdict is the most serious of them.

Compacting (Task: compact): write a compact state summary a fresh conversation can continue from: the goal, how the subtasks fit together, the decisions made, what each subtask produced or still needs, and open questions.`;

/** Instructions of an executor that edits files (a subtask with writes): edits go through apply_patch or a V4A patch. */
export const EXECUTOR_EDIT_INSTRUCTIONS = `You are an executor of planexec. You carry out exactly one narrow subtask of a larger piece of software work that a planner has broken down, by editing files of the workspace.

You receive: the goal of the whole workflow (one line), files from the workspace (their current content), the outputs of the subtasks yours depends on, then your subtask with the files you may write, and possibly feedback on your previous attempt (a reviewer's notes, or the output of a check that failed).

Rules:
- Do this subtask and nothing else. Edit only the files listed under "Files you may write"; any other edit is refused.
- Make your edits with the apply_patch tool when you have it. Without it, put one patch in your answer, in the V4A format:
*** Begin Patch
*** Update File: path/relative/to/workspace
@@ a line just above the change (optional)
 context line (unchanged, starts with a space)
-removed line
+added line
*** Add File: path/of/new/file
+its first line
*** Delete File: path/of/file/to/remove
*** End Patch
- Context and removed lines must match the file exactly as you were shown it; give about three lines of context around each change.
- Besides the edits, answer with one or two sentences saying what you changed and any assumption you made. No other prose.
- Where the feedback asks for changes or shows a failing check, fix that first.`;

/** Instructions of an executor that answers in text (a subtask without writes, or a workflow without changes). */
export const EXECUTOR_INSTRUCTIONS = `You are an executor of planexec. You carry out exactly one narrow subtask of a larger piece of software work that a planner has broken down.

You receive: the goal of the whole workflow (one line), files from the workspace, the outputs of the subtasks yours depends on, then your subtask with its expected output format, and possibly review feedback on your previous attempt.

Rules:
- Do this subtask and nothing else. Do not redo or restate the work of other subtasks.
- Answer with the deliverable itself, in the expected output format. No preamble, no closing remarks.
- Where the review feedback asks for changes, make all of them.
- If something you need is missing, make the most reasonable assumption and state it in one line at the end.`;

/** A file as a prompt section, with a header that says when only part of it is shown. */
export function renderFile(file: WorkspaceFile): string {
  if (file.binary) return `=== ${file.path}, ${file.bytes} bytes, binary: not shown ===`;
  const shown = utf8Bytes(file.content);
  if (shown === 0 && file.bytes > 0) return `=== ${file.path}, ${file.bytes} bytes: not shown, the size limit for files in one request is used up ===`;
  const note = file.truncated ? `, first ${shown} of ${file.bytes} bytes` : `, ${file.bytes} bytes`;
  return `=== ${file.path}${note} ===\n${file.content}`;
}

/** How the host's checks ended on the base, for the plan: which pass now, which fail (goals of the work). */
export interface BaseCheck {
  command: string;
  passed: boolean;
  output_tail: string;
}

/**
 * The input of a new workflow's plan call: the request, the host's context, the files it named (renderFile)
 * and, in a workflow that makes changes, how the host's checks end on the base (a failing one is a goal).
 */
export function renderPlanInput(request: string, context: string | null, files: WorkspaceFile[], baseChecks: readonly BaseCheck[] = []): string {
  const parts = [`Task: plan\nRequest: ${request.trim()}`];
  if (context?.trim()) parts.push(`Context from the host:\n${context.trim()}`);
  if (files.length) parts.push(`Files:\n${files.map(renderFile).join('\n\n')}`);
  if (baseChecks.length) {
    const lines = baseChecks.map((c) => (c.passed ? `- \`${c.command}\`: passes now; it must keep passing.` : `- \`${c.command}\`: FAILS now, before any change. Output (end):\n${indent(c.output_tail)}`));
    parts.push(`Host checks (they run after every subtask that changes files; the work is done when all pass):\n${lines.join('\n')}`);
  }
  return parts.join('\n\n');
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/**
 * The input of a plan revision: the current plan's subtasks with their status, then the feedback. `threadState`
 * (renderThreadState) goes first when the planner's thread starts over.
 */
export function renderReplanInput(feedback: string, planVersion: number, subtasks: readonly Subtask[], threadState: string | null): string {
  const list = subtasks.map((s) => `- ${s.id} [${s.status}] ${s.title}${s.depends_on.length ? ` (after ${s.depends_on.join(', ')})` : ''}: ${s.description}`);
  const state = threadState ? `${threadState}\n\n` : '';
  return `Task: replan\n${state}The current plan is version ${planVersion}:\n${list.join('\n')}\n\nRevise it as this feedback asks:\n${feedback.trim()}\n\nAnswer with the complete revised plan.`;
}

/** The repair round's input: the problems of the last answer (validatePlan, reviewLimitProblems...), one a line. */
export function renderRepairInput(problems: string[]): string {
  return `Task: repair\nYour answer cannot be used as it is:\n${problems.map((p) => `- ${p}`).join('\n')}\nAnswer again with the complete corrected JSON.`;
}

/** One subtask in a review's input: `output` already cut to the review's character cap (CoreSettings.reviewOutputChars). */
export interface ReviewItem {
  subtask: Subtask;
  output: string;
  outputTruncated: boolean;
}

/**
 * What a planner thread that starts over is told first: after a compaction, its state summary; when
 * the earlier conversation is lost and planexec has no record of it, the request and coordination
 * notes instead. Then every subtask of the plan with its state.
 */
export function renderThreadState(s: { summary: string | null; request: string; coordinationNotes: string; planVersion: number; subtasks: readonly Subtask[] }): string {
  const list = s.subtasks.map((x) => `- ${x.id} [${x.status}, attempt ${x.attempts}] ${x.title}${x.depends_on.length ? ` (after ${x.depends_on.join(', ')})` : ''}`);
  const head =
    s.summary !== null
      ? `The earlier conversation was compacted. State summary:\n${s.summary}`
      : `The earlier conversation is not available. The request was:\n${s.request.trim()}\n\nYour coordination notes:\n${s.coordinationNotes.trim() || '(none)'}`;
  return `${head}\n\nPlan version ${s.planVersion}, every subtask and its state:\n${list.join('\n')}`;
}

/**
 * The input of a planner review: each subtask's description, attempt, model, expected format and output.
 * `threadState` (renderThreadState) goes first when the planner's thread starts over.
 */
export function renderReviewInput(planVersion: number, items: ReviewItem[], threadState: string | null = null): string {
  const sections = items.map(({ subtask: s, output, outputTruncated }) => {
    const cut = outputTruncated ? '\n[output cut for length]' : '';
    return `### Subtask ${s.id}: ${s.title}\n${s.description}\nAttempt ${s.attempts} on ${s.model ?? 'unknown model'}. Expected output format: ${s.output_format}\nOutput:\n${output}${cut}`;
  });
  const state = threadState ? `${threadState}\n\n` : '';
  return `Task: review\n${state}Plan version ${planVersion}. Review the results of these ${items.length} subtask(s).\n\n${sections.join('\n\n')}`;
}

/**
 * The review of a finished branch whose host checks fail: every subtask is approved, the checks say
 * otherwise. The planner sends back (revise) the subtasks whose work must change, or escalates.
 */
export function renderFinalReviewInput(planVersion: number, failing: readonly CheckResult[], subtasks: readonly Subtask[], threadState: string | null = null): string {
  const checks = failing.map((c) => `- \`${c.command}\` ${c.timed_out ? 'timed out' : `failed (exit code ${c.exit_code})`}. The end of its output:\n${c.output_tail.trim() || '(no output)'}`);
  const list = subtasks.map((s) => `### Subtask ${s.id}: ${s.title}\nWrote: ${s.writes.join(', ')}`);
  const state = threadState ? `${threadState}\n\n` : '';
  return `Task: review\n${state}Plan version ${planVersion}. Every subtask is approved, but these host checks fail on the finished branch:\n${checks.join('\n')}\n\nFor each subtask below: revise (say exactly what to change so the checks pass) if its work must change, escalate if a human must decide, approve if it is not involved.\n\n${list.join('\n\n')}`;
}

/** The input of a compaction call (src/core/usecases/compact.ts); the thread it continues is the context. */
export const COMPACT_INPUT = 'Task: compact\nThis conversation is getting long. Write the compact state summary now.';

/** A dependency's output as an executor is shown it: `output` already cut to ContextLimits.maxDependencyChars characters. */
export interface DependencyOutput {
  id: string;
  title: string;
  output: string;
  truncated: boolean;
}

/** What renderExecutorInput puts in an executor's input; `subtask.writes` is listed only for an edit. */
export interface ExecutorInputParts {
  goal: string;
  files: WorkspaceFile[];
  dependencies: DependencyOutput[];
  subtask: Pick<Subtask, 'id' | 'title' | 'description' | 'output_format'> & { writes?: readonly string[] };
  feedback: string | null;
  notes: string | null;
}

// Order: the goal and files (shared by sibling subtasks) before the subtask-specific text, so
// subtasks that read the same files share a cacheable prefix.
export function renderExecutorInput(p: ExecutorInputParts): string {
  const parts = [`Goal of the workflow: ${p.goal}`];
  if (p.files.length) parts.push(`## Files\n${p.files.map(renderFile).join('\n\n')}`);
  if (p.dependencies.length) {
    const deps = p.dependencies.map((d) => `### ${d.id}: ${d.title}\n${d.output}${d.truncated ? '\n[output cut for length]' : ''}`);
    parts.push(`## Outputs of the subtasks this one depends on\n${deps.join('\n\n')}`);
  }
  const writes = p.subtask.writes?.length ? `\n\nFiles you may write:\n${p.subtask.writes.map((w) => `- ${w}`).join('\n')}` : '';
  parts.push(`## Subtask ${p.subtask.id}: ${p.subtask.title}\n${p.subtask.description}\n\nExpected output format: ${p.subtask.output_format}${writes}`);
  if (p.feedback) parts.push(`## Review feedback on your previous attempt\n${p.feedback}`);
  if (p.notes) parts.push(`## Notes from the host\n${p.notes}`);
  return parts.join('\n\n');
}

// The answers of `npm run standin` (scripts/standin.ts): planexec's local OpenAI stand-in playing a
// planner and an executor well enough to try every tool without a key. Scripted, not a model:
// - plan: three subtasks derived from the request and the files it names (s1 outlines in text; s2
//   edits the named files, or creates standin-change.txt when none can take a comment line; s3 adds
//   a line to NOTES.md), s2 and s3 in parallel after s1; a revision adds f1, "Follow the feedback";
// - executor: a canned text answer, or, for a subtask with files it may write, real edits: a comment
//   line appended to each file shown to it, each other file created (through the apply_patch tool
//   when the request offers it, else as a V4A patch in the answer text, as on Chat Completions);
// - review: approves every subtask it is shown; compaction: a one-line summary.
// What it reads is the prompt format of src/core/prompts.ts (renderPlanInput, renderExecutorInput,
// renderReplanInput, renderReviewInput).
import { autoResponder, type Responder, type StandinPatchCall, type StandinReply, type StandinRequest } from '../../test/support/openai-standin.js';

/** The file the plan's s3 writes its line to. */
export const NOTES_FILE = 'NOTES.md';
/** What s2 creates when the request names no file it can add a comment line to. */
export const FALLBACK_FILE = 'standin-change.txt';

/** Comment syntax per file extension: files the stand-in can append a line to without breaking them. */
const COMMENTS: Record<string, [string, string]> = {};
for (const ext of ['js', 'mjs', 'cjs', 'jsx', 'ts', 'mts', 'cts', 'tsx', 'c', 'h', 'cc', 'cpp', 'hpp', 'java', 'kt', 'go', 'rs', 'swift', 'scala', 'cs', 'dart', 'php']) COMMENTS[ext] = ['// ', ''];
for (const ext of ['py', 'rb', 'sh', 'bash', 'zsh', 'pl', 'r', 'yaml', 'yml', 'toml', 'cfg', 'conf', 'ini']) COMMENTS[ext] = ['# ', ''];
for (const ext of ['sql', 'lua', 'hs']) COMMENTS[ext] = ['-- ', ''];
for (const ext of ['css', 'scss', 'less']) COMMENTS[ext] = ['/* ', ' */'];
for (const ext of ['html', 'xml', 'svg', 'vue']) COMMENTS[ext] = ['<!-- ', ' -->'];
for (const ext of ['md', 'txt', 'rst', 'adoc']) COMMENTS[ext] = ['', ''];

function commentFor(path: string): [string, string] | null {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? (COMMENTS[name.slice(dot + 1).toLowerCase()] ?? null) : null;
}

function squash(text: string, max: number): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The text of the workflow's plan call (renderPlanInput) within what the planner was sent, or ''. */
function planInput(req: StandinRequest): string {
  const text = req.promptText;
  const start = text.lastIndexOf('Task: plan\nRequest:');
  if (start < 0) return '';
  const end = text.indexOf('\nTask: ', start + 1);
  return end < 0 ? text.slice(start) : text.slice(start, end);
}

/** The paths of the `=== path, N bytes ... ===` headers (renderFile) in `text`, in order, and whether each is binary. */
function fileHeaders(text: string): Map<string, { binary: boolean }> {
  const out = new Map<string, { binary: boolean }>();
  for (const m of text.matchAll(/^=== (.+?), (?:first \d+ of )?\d+ bytes(.*) ===$/gm)) out.set(m[1]!, { binary: m[2]!.includes('binary') });
  return out;
}

interface TrySubtask {
  id: string;
  title: string;
  description: string;
  depends_on: string[];
  complexity: 'routine' | 'complex';
  output_format: string;
  relevant_files: string[];
  writes: string[];
  checks: string[];
}

/** The stand-in's plan for a plan or replan request (see the file's header). */
export function tryPlan(req: StandinRequest): { subtasks: TrySubtask[]; coordination_notes: string } {
  const input = planInput(req);
  const request = squash(/^Request: (.*)$/m.exec(input)?.[1] ?? '', 200) || 'the requested change';
  const named = [...fileHeaders(input).entries()].filter(([, f]) => !f.binary).map(([path]) => path).slice(0, 20);
  const editable = named.filter((p) => p !== NOTES_FILE && commentFor(p) !== null).slice(0, 10);
  const changed = editable.length > 0 ? editable : [FALLBACK_FILE];
  // A host check that fails before any change is a goal: name it in the subtask meant to make it pass.
  const failing = [...input.matchAll(/^- `(.+)`: FAILS now/gm)].map((m) => m[1]!).slice(0, 5);
  const subtasks: TrySubtask[] = [
    {
      id: 's1',
      title: 'Outline the change',
      description: `Outline, in a few lines, how to do this: ${request}`,
      depends_on: [],
      complexity: 'complex',
      output_format: 'a short markdown outline',
      relevant_files: named,
      writes: [],
      checks: [],
    },
    {
      id: 's2',
      title: 'Make the change',
      description: `Make the change in ${changed.join(', ')}, following the outline of s1: ${request}`,
      depends_on: ['s1'],
      complexity: 'routine',
      output_format: 'edits, and one sentence on what changed',
      relevant_files: named,
      writes: changed,
      checks: failing,
    },
    {
      id: 's3',
      title: `Note the change in ${NOTES_FILE}`,
      description: `Add a line about this change to ${NOTES_FILE}: ${request}`,
      depends_on: ['s1'],
      complexity: 'routine',
      output_format: `a line in ${NOTES_FILE}`,
      relevant_files: [],
      writes: [NOTES_FILE],
      checks: [],
    },
  ];
  // This call's own message (on Chat Completions, inputText also holds the earlier turns).
  const own = req.inputText.slice(Math.max(0, req.inputText.lastIndexOf('Task: ')));
  const feedback = /^Revise it as this feedback asks:\n([\s\S]*?)\n\nAnswer with the complete revised plan\.$/m.exec(own)?.[1];
  if (own.startsWith('Task: replan') && feedback !== undefined) {
    subtasks.push({
      id: 'f1',
      title: 'Follow the feedback',
      description: `Follow this feedback on the plan: ${squash(feedback, 300)}`,
      depends_on: ['s1'],
      complexity: 'routine',
      output_format: 'a short markdown note',
      relevant_files: [],
      writes: [],
      checks: [],
    });
  }
  return {
    subtasks,
    coordination_notes: 'Scripted by the planexec stand-in (no model): s1 outlines; s2 and s3 edit different files, so they run in parallel after it.',
  };
}

/** The executor's subtask (id and title), the files it may write, and the files it was shown. */
function executorRequest(req: StandinRequest): { id: string; title: string; writes: string[]; shown: Map<string, { binary: boolean }>; goal: string } | null {
  const text = req.inputText;
  const head = /^## Subtask ([^:\s]+): (.*)$/m.exec(text);
  if (!head) return null;
  const section = text.slice(head.index);
  const list = /\n\nFiles you may write:\n((?:- .*(?:\n|$))+)/.exec(section)?.[1] ?? '';
  const writes = list
    .split('\n')
    .map((l) => l.replace(/^- /, '').trim())
    .filter(Boolean);
  return { id: head[1]!, title: head[2]!, writes, shown: fileHeaders(text.slice(0, head.index)), goal: squash(/^Goal of the workflow: (.*)$/m.exec(text)?.[1] ?? '', 200) };
}

/** The edits of an editing subtask: a line appended to each file shown, each other file created. */
function editsFor(x: { id: string; title: string; writes: string[]; shown: Map<string, { binary: boolean }>; goal: string }): StandinPatchCall[] {
  const calls: StandinPatchCall[] = [];
  for (const path of x.writes) {
    if (path.endsWith('/')) continue;
    const [open, close] = commentFor(path) ?? ['', ''];
    const line =
      path === NOTES_FILE
        ? `- ${x.goal || x.title} (a line written by the planexec stand-in's scripted executor, not by a model)`
        : `${open}${x.id} (${x.title}): a line added by the planexec stand-in's scripted executor, not by a model${close}`;
    const shown = x.shown.get(path);
    if (shown?.binary) continue;
    if (shown) calls.push({ type: 'update_file', path, diff: `@@\n+${line}\n*** End of File\n` });
    else calls.push({ type: 'create_file', path, diff: path === NOTES_FILE ? `+# Notes\n+\n+${line}\n` : `+${line}\n` });
  }
  return calls;
}

/** The apply_patch operations as one V4A patch (`*** Begin Patch` …), for answers in text. */
function asPatchText(calls: StandinPatchCall[]): string {
  const body = calls.map((c) => {
    const lines = c.diff!.replace(/\n$/, '');
    return c.type === 'create_file' ? `*** Add File: ${c.path}\n${lines}` : `*** Update File: ${c.path}\n${lines}`;
  });
  return `*** Begin Patch\n${body.join('\n')}\n*** End Patch`;
}

/** The stand-in's executor answer (see the file's header). */
export function tryExecutor(req: StandinRequest): StandinReply {
  // A follow-up after edits that did not apply: the script has nothing better to offer.
  if (req.patchOutputs.length > 0 || req.inputText.includes('Some of your edits did not apply; the others did.')) {
    return { text: 'The planexec stand-in has no other edit to offer (its edits are scripted).' };
  }
  const x = executorRequest(req);
  if (!x) return autoResponder(req) as StandinReply;
  const calls = x.writes.length > 0 ? editsFor(x) : [];
  if (calls.length === 0) {
    return {
      text: [
        `## ${x.title}`,
        '',
        `Goal: ${x.goal || 'the requested change'}`,
        '',
        `- This answer to subtask ${x.id} is canned: planexec's local stand-in answers every text subtask with a note like this one.`,
        '- With a real provider (OPENAI_API_KEY, a Chat Completions server, the Codex CLI) a model writes it.',
      ].join('\n'),
    };
  }
  const note = `${calls.map((c) => `${c.type === 'create_file' ? 'Created' : 'Added a line to'} ${c.path}`).join('; ')}. (Scripted edits of the planexec stand-in, not a model's.)`;
  const offersTool = req.tools.some((t) => typeof t === 'object' && t !== null && (t as { type?: unknown }).type === 'apply_patch');
  return offersTool ? { patchCalls: calls, text: note } : { text: `${note}\n\n${asPatchText(calls)}` };
}

/** Reviews that approve every subtask listed (`### Subtask <id>:` of renderReviewInput). */
export function tryReview(req: StandinRequest): unknown {
  const ids = [...new Set([...req.inputText.matchAll(/^### Subtask ([^:\s]+):/gm)].map((m) => m[1]!))];
  return {
    verdict: 'approve',
    reviews: ids.map((subtask_id) => ({ subtask_id, verdict: 'approve', feedback: '' })),
    summary: 'Approved by the planexec stand-in, which approves everything it is shown.',
  };
}

/** The responder of `npm run standin`: plans, executor answers and edits, approving reviews. */
export const tryItResponder: Responder = (req) => {
  switch (req.schemaName) {
    case 'plan':
      return { json: tryPlan(req) };
    case 'review':
      return { json: tryReview(req) };
    case 'compaction':
      return { json: { summary: 'State summary (planexec stand-in): the work goes on as planned.' } };
    default:
      return tryExecutor(req);
  }
};

// The minimal-context builder: what one executor call sees, and a report of it.
import { fileUnreadable, PlanexecError } from './errors.js';
import { missingDependencies, normalizeRelativePath } from './plan.js';
import type { WorkspaceFile, WorkspaceReader } from './ports.js';
import { EXECUTOR_EDIT_INSTRUCTIONS, EXECUTOR_INSTRUCTIONS, renderExecutorInput, type DependencyOutput } from './prompts.js';
import { clip, utf8Bytes } from './text.js';
import type { Subtask, Workflow } from './types.js';

/** Caps on what one executor call is shown (CoreSettings.context: PLANEXEC_MAX_FILE_BYTES, PLANEXEC_MAX_CONTEXT_BYTES; the dependency cap is fixed by src/config.ts). */
export interface ContextLimits {
  /** Bytes of one file sent to the executor. */
  maxFileBytes: number;
  /** Bytes of all files of one call together. */
  maxContextBytes: number;
  /** Characters of one dependency's output. */
  maxDependencyChars: number;
}

/** One file named for an execution and what of it was sent (recorded with the execution: ContextPacket). */
export interface FileReport {
  path: string;
  bytes: number;
  sent_bytes: number;
  /** Byte range of the file that was sent, [start, end). */
  range: [number, number];
  truncated: boolean;
  missing: boolean;
  sha256: string | null;
  /** Why a file was not shown in full or at all (binary, not a regular file), if so. */
  note: string | null;
}

/** One dependency's output as sent: `chars` is its whole length in characters (UTF-16 code units). */
export interface DependencyReport {
  subtask_id: string;
  chars: number;
  truncated: boolean;
}

/** What one executor call was shown, for the record and for workflow_status `subtask.context`. */
export interface ContextReport {
  files: FileReport[];
  dependencies: DependencyReport[];
  /** The host's notes for this execution, as shown to the model. */
  notes: string | null;
}

/** What one execution saw, as recorded with it: the report plus the provider's count of the prompt. */
export type ContextPacket = ContextReport & { tokens: number };

/** An executor request's parts: the role's fixed instructions, the rendered input, and the report of it. */
export interface ExecutorContext {
  instructions: string;
  input: string;
  report: ContextReport;
}

/** What buildExecutorContext needs: the subtask, its workflow and all of the plan's subtasks (for the dependencies' outputs). */
export interface BuildContextArgs {
  workflow: Workflow;
  subtask: Subtask;
  all: readonly Subtask[];
  notes: string | null;
  files: WorkspaceReader;
  limits: ContextLimits;
  /** Where the files are read: the workflow's worktree when it makes changes, else its root (default). */
  root?: string | null;
  /**
   * The subtask edits files: the editing instructions, its writes listed, and the files it may write
   * shown too (an edit needs their exact lines).
   */
  edit?: boolean;
}

/**
 * The minimal context of one execution: the workflow's goal line, the subtask's relevant files (and, for
 * an edit, the files it may write), each read up to `limits.maxFileBytes` bytes and all together up to
 * `limits.maxContextBytes`, sorted so sibling subtasks share a cacheable prefix; the outputs of its direct
 * dependencies, each cut to `limits.maxDependencyChars` characters; review feedback and the host's notes.
 * A file that is missing, withheld or not a regular file is reported (`missing`, `note`), not fatal.
 * Throws path_outside_root for a relevant file that leaves the root, and a plain Error (a caller's bug)
 * when a dependency is not completed.
 */
export async function buildExecutorContext(a: BuildContextArgs): Promise<ExecutorContext> {
  const missing = missingDependencies(a.subtask, a.all);
  if (missing.length) throw new Error(`buildExecutorContext called with incomplete dependencies: ${missing.join(', ')}`);

  const fileReports: FileReport[] = [];
  const shown: WorkspaceFile[] = [];
  let remaining = a.limits.maxContextBytes;
  // Normalised, so one file named two ways is sent once (plans stored before normalisation too);
  // sorted, so subtasks that share files send them in the same order (a shared cacheable prefix).
  const root = a.root === undefined ? a.workflow.root : a.root;
  const paths = a.edit ? [...a.subtask.relevant_files, ...a.subtask.writes.filter((w) => !w.endsWith('/'))] : a.subtask.relevant_files;
  for (const path of [...new Set(paths.map(normalizeRelativePath))].sort()) {
    let file;
    try {
      if (root === null) throw noWorkspaceRoot(path);
      file = await a.files.read(root, path, Math.min(a.limits.maxFileBytes, remaining));
    } catch (error) {
      // A folder or a special file the planner named: report it, do not fail the subtask over it.
      // (A relevant file that leaves the workspace root still fails: that is not the planner's to
      // decide. A file only to be written is reported: any edit of it is refused when applied.)
      const onlyWritten = a.edit && !a.subtask.relevant_files.some((f) => normalizeRelativePath(f) === path);
      const reportable = error instanceof PlanexecError && (error.code === 'file_unreadable' || (onlyWritten && error.code === 'path_outside_root'));
      if (!reportable) throw error;
      fileReports.push({ path, bytes: 0, sent_bytes: 0, range: [0, 0], truncated: false, missing: true, sha256: null, note: error.message });
      continue;
    }
    if (file.kind === 'missing') {
      fileReports.push({ path, bytes: 0, sent_bytes: 0, range: [0, 0], truncated: false, missing: true, sha256: null, note: null });
      continue;
    }
    const sent = utf8Bytes(file.content);
    remaining -= sent;
    shown.push(file);
    const note = file.binary ? 'binary file: not shown' : null;
    fileReports.push({ path, bytes: file.bytes, sent_bytes: sent, range: [0, sent], truncated: file.truncated, missing: false, sha256: file.sha256, note });
  }

  const byId = new Map(a.all.map((s) => [s.id, s]));
  const dependencies: DependencyOutput[] = [];
  const depReports: DependencyReport[] = [];
  for (const id of a.subtask.depends_on) {
    const dep = byId.get(id);
    if (!dep) continue;
    const out = clip(dep.output ?? '', a.limits.maxDependencyChars);
    dependencies.push({ id, title: dep.title, output: out.text, truncated: out.truncated });
    depReports.push({ subtask_id: id, chars: out.total, truncated: out.truncated });
  }

  const input = renderExecutorInput({
    goal: a.workflow.goal,
    files: shown,
    dependencies,
    subtask: a.edit ? a.subtask : { ...a.subtask, writes: [] },
    feedback: a.subtask.feedback,
    notes: a.notes,
  });
  const instructions = a.edit ? EXECUTOR_EDIT_INSTRUCTIONS : EXECUTOR_INSTRUCTIONS;
  return { instructions, input, report: { files: fileReports, dependencies: depReports, notes: a.notes } };
}

function noWorkspaceRoot(path: string): PlanexecError {
  return fileUnreadable(path, 'the workflow has no workspace root (PLANEXEC_ROOT was not set and the host named no MCP root when it was planned)');
}

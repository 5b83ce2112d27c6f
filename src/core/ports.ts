// What the core needs from the outside world. Adapters in src/adapters implement these; tests use
// real adapters (SQLite, the local OpenAI stand-in) or small scripted ones.
import type { CallGroup } from './cost.js';
import type { PatchOperation } from './patch/v4a.js';
import type {
  CallPurpose,
  CallStatus,
  Execution,
  HumanDecision,
  PlanRecord,
  PlanStatus,
  Owner,
  ModelCall,
  ReviewRecord,
  Role,
  Subtask,
  ThreadTurn,
  Usage,
  Workflow,
  WorkflowChanges,
} from './types.js';

/**
 * A JSON answer format a request asks for (plans, reviews, summaries): `name` is the format's name on the
 * wire (the Responses API's text.format name).
 */
export interface StructuredFormat {
  name: string;
  /** JSON Schema in the strict subset the Responses API accepts. */
  schema: Record<string, unknown>;
}

/** What a provider can do; the core adapts what it sends (threads, cache hints, schemas, edits). */
export interface ProviderCapabilities {
  /** Keeps a thread on its side: `previousResponseId` continues it (otherwise `history` is sent). */
  serverThreads: boolean;
  /** Honours `cacheKey` and `cacheRetention` (prompt_cache_key / prompt_cache_retention). */
  promptCacheControls: boolean;
  /** Enforces `format`'s JSON schema on the answer (otherwise the schema is only asked for in words). */
  structuredOutput: boolean;
  /**
   * Offers the Responses API's apply_patch tool: edits come back as `patchCalls` (V4A diffs).
   * Without it, an editing executor writes a V4A patch in its answer text.
   */
  applyPatchTool: boolean;
}

/** One edit the model asked for through the apply_patch tool (the Responses API's apply_patch_call). */
export interface PatchCall {
  callId: string;
  operation: PatchOperation;
}

/** What planexec answers one PatchCall with (the apply_patch_call_output item). */
export interface PatchCallOutput {
  callId: string;
  status: 'completed' | 'failed';
  /** Why it failed (sent to the model so it can correct the edit), or a short confirmation. */
  output: string;
}

/**
 * One model call as the core asks for it; each provider maps it to its own wire format and keeps what its
 * capabilities allow (ProviderCapabilities).
 */
export interface ModelRequest {
  model: string;
  role: Role;
  instructions: string;
  input: string;
  /** Continue the provider's own thread after this response (providers with serverThreads). */
  previousResponseId?: string | null;
  /**
   * The earlier turns of the same thread from planexec's record, oldest first: sent as the
   * conversation by providers without server threads, and by any provider when `previousResponseId`
   * is absent (a thread sent again after the provider lost it).
   */
  history?: readonly ThreadTurn[];
  format?: StructuredFormat;
  /** Offer the apply_patch tool (providers with capabilities.applyPatchTool). */
  applyPatch?: boolean;
  /**
   * The outcome of each PatchCall of the response this request continues (`previousResponseId`),
   * sent before `input` (which may be empty).
   */
  patchOutputs?: readonly PatchCallOutput[];
  /** prompt_cache_key: names the prompt's family ('planexec-planner', 'planexec-executor'), which decides the shared prefix. */
  cacheKey: string;
  /** prompt_cache_retention; '24h' only for the models CoreSettings.extendedCacheModels lists. */
  cacheRetention?: '24h' | 'in-memory';
  /** Cap on the answer's tokens (PLANEXEC_<ROLE>_MAX_OUTPUT_TOKENS); absent: the provider's default. */
  maxOutputTokens?: number;
  /** Aborting it ends the call with ModelCallError 'aborted'. */
  signal?: AbortSignal;
}

/** A real, complete answer: anything else is a ModelCallError (see ModelProvider). */
export interface ModelResponse {
  /** The provider's id for this response (continues its thread); null when it has none. */
  responseId: string | null;
  /** The answer: never empty unless it carries patchCalls (an empty answer is a ModelCallError 'empty'). */
  text: string;
  /** The apply_patch calls of the answer, in order (only when the request offered the tool). */
  patchCalls?: PatchCall[];
  /** Tokens as the provider reported them; null when it reported none (the journal then estimates them). */
  usage: Usage | null;
}

/**
 * A model endpoint. The error contract, which every adapter keeps (besides what follows: a request
 * offering apply_patch to a model that does not take the tool rejects with 'tool_unsupported', and
 * the core then asks for the patch in the answer text, remembering it per model): `generate` resolves only with a
 * real, complete answer; any other outcome throws a ModelCallError (src/core/errors.ts) whose
 * `reason` names it, whose `billed` says whether the provider may have charged for it (it answered,
 * or the request was cut off after it was sent) and whose `usage` carries what the provider reported,
 * if anything. Aborting `signal` rejects with reason 'aborted'. A request whose `previousResponseId`
 * the provider no longer has rejects with 'thread_lost'. No error message carries a secret.
 */
export interface ModelProvider {
  readonly capabilities: ProviderCapabilities;
  generate(request: ModelRequest): Promise<ModelResponse>;
  /** Throws (ModelCallError no_api_key) when no call can succeed whatever is sent, e.g. no API key. */
  ready?(): void;
}

/** One line of the workflow list (WorkflowRecords.list). */
export interface WorkflowSummary {
  workflow: Workflow;
  subtasks: number;
  /** Subtasks completed or approved. */
  done: number;
}

/** Which workflows a listing or the ledger covers: all (no requester), or one requester's (Workflow.requester). */
export interface LedgerFilter {
  requester?: string | undefined;
}

/** What CallJournal.ledger answers. */
export interface Ledger {
  /** Workflows covered. */
  workflows: number;
  /** Their calls per (provider, model). */
  groups: CallGroup[];
}

/** A journal row as begun, before the request is sent (CallJournal.begin). startedAt: epoch ms. */
export interface NewModelCall {
  workflowId: string;
  subtaskId: string | null;
  role: Role;
  purpose: CallPurpose;
  model: string;
  /** The provider kind the call goes to (CoreSettings.providers of its role). */
  provider: string;
  owner: string;
  startedAt: number;
  /** Tokens the call may use, held against the budget until its usage is known (null: no budget). */
  reservedTokens?: number | null;
  /** UTF-8 bytes the request carries (to estimate the usage of a call whose process died). */
  requestBytes?: number | null;
}

/**
 * How a journal row is settled (CallJournal.finish). endedAt: epoch ms; `error` is the failure as
 * described for the journal, already passed through the redactor (CoreDeps.redact).
 */
export interface CallOutcome {
  status: Exclude<CallStatus, 'pending'>;
  responseId?: string | null;
  /** Tokens billed (reported, or estimated when usageEstimated); null or absent: none billed. */
  usage?: Usage | null;
  usageEstimated?: boolean;
  error?: string | null;
  endedAt: number;
}

/** The fields WorkflowRecords.update may change; an absent field stays as it is. */
export type WorkflowPatch = Partial<
  Pick<Workflow, 'phase' | 'planVersion' | 'plannerResponseId' | 'coordinationNotes' | 'budget' | 'lockOwner' | 'lastError' | 'plannerSummary' | 'files' | 'plannerThread'>
>;
/** The fields WorkflowRecords.updateSubtask may change; an absent field stays as it is. */
export type SubtaskPatch = Partial<
  Pick<
    Subtask,
    | 'status'
    | 'attempts'
    | 'role'
    | 'model'
    | 'feedback'
    | 'output'
    | 'leaseOwner'
    | 'claimedFrom'
    | 'position'
    | 'title'
    | 'description'
    | 'depends_on'
    | 'complexity'
    | 'output_format'
    | 'relevant_files'
    | 'writes'
    | 'checks'
  >
> & {
  /** The plan version that dropped the subtask; null brings it back. */
  removedIn?: number | null;
};

/** An MCP task as stored: the MCP layer maps it to and from the protocol's shape. */
export interface TaskRecord {
  id: string;
  workflowId: string | null;
  owner: string | null;
  status: 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';
  statusMessage: string | null;
  /** ms the task is kept after its last update (MCP tasks `ttl`); null: kept until deleted. */
  ttl: number | null;
  /** ms a client should wait between polls (MCP tasks `pollInterval`). */
  pollInterval: number;
  /** The tools/call request that made the task ({ method, params }). */
  request: unknown;
  /** The CallToolResult once the task ended, secrets masked; null until then. */
  result: unknown;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
}

/**
 * The workflow aggregate: a workflow with its plan versions, subtasks, executions, reviews and human
 * decisions. Times are epoch milliseconds; `now` stamps `updated_at`. An update of an id that does not
 * exist changes nothing and does not throw; an insert of an id that exists is refused by the database
 * (a constraint error, not a StorageError). Storage failures: see Store.
 */
export interface WorkflowRecords {
  insert(workflow: Workflow): Promise<void>;
  get(id: string): Promise<Workflow | null>;
  /** Most recently updated first; with `requester`, only the workflows it asked for. */
  list(limit: number, filter?: LedgerFilter): Promise<WorkflowSummary[]>;
  update(id: string, patch: WorkflowPatch, now: number): Promise<void>;
  /** Sets the workflow's lock to `next` if it is `expected` now (compare-and-set); true when it did. */
  casLock(id: string, expected: string | null, next: string | null): Promise<boolean>;

  insertPlan(plan: PlanRecord): Promise<void>;
  getPlan(workflowId: string, version: number): Promise<PlanRecord | null>;
  /** Every plan version of a workflow, oldest first. */
  listPlans(workflowId: string): Promise<PlanRecord[]>;
  setPlanStatus(workflowId: string, version: number, status: PlanStatus): Promise<void>;

  insertSubtasks(subtasks: Subtask[]): Promise<void>;
  /** The subtasks of the active plan, in plan order. */
  listSubtasks(workflowId: string): Promise<Subtask[]>;
  /** Every subtask the workflow ever had, including those a newer plan dropped. */
  listAllSubtasks(workflowId: string): Promise<Array<Subtask & { removedIn: number | null }>>;
  updateSubtask(workflowId: string, id: string, patch: SubtaskPatch, now: number): Promise<void>;

  /** Returns the new execution's id. */
  insertExecution(execution: Omit<Execution, 'id'>): Promise<number>;
  /** Executions of one subtask, oldest first. */
  listExecutions(workflowId: string, subtaskId: string): Promise<Execution[]>;
  /** Every execution of a workflow without outputs or context, oldest first. */
  listRuns(workflowId: string): Promise<Array<Pick<Execution, 'subtaskId' | 'attempt' | 'role' | 'model' | 'changes' | 'checks'>>>;

  insertReviews(workflowId: string, callId: number, planVersion: number, reviews: ReviewRecord[], now: number): Promise<void>;
  /** Appends completed planner exchanges to thread `thread` of the workflow. */
  appendTurns(workflowId: string, thread: number, turns: ReadonlyArray<ThreadTurn & { callId: number }>, now: number): Promise<void>;
  /** The turns of one planner thread, oldest first, with the journal row of the call that answered each. */
  listTurns(workflowId: string, thread: number): Promise<Array<ThreadTurn & { callId: number }>>;
  insertDecision(workflowId: string, decision: HumanDecision, via: 'elicitation' | 'host', now: number): Promise<void>;
}

/** The fields ChangeRecords.update may change; an absent field stays as it is (the apply lock goes through casLock). */
export type ChangesPatch = Partial<
  Pick<WorkflowChanges, 'mode' | 'reason' | 'repo' | 'branch' | 'worktree' | 'prefix' | 'base' | 'head' | 'files' | 'hostChecks' | 'baseChecks' | 'finalChecks' | 'merged' | 'discarded'>
>;

/**
 * The changes aggregate: a workflow's worktree, branch, head and checks (see WorkflowChanges), one row per
 * workflow. Times are epoch ms; errors as WorkflowRecords.
 */
export interface ChangeRecords {
  insert(changes: WorkflowChanges): Promise<void>;
  get(workflowId: string): Promise<WorkflowChanges | null>;
  update(workflowId: string, patch: ChangesPatch, now: number): Promise<void>;
  /** Sets the apply lock to `next` if it is `expected` now (compare-and-set); true when it did. */
  casLock(workflowId: string, expected: string | null, next: string | null): Promise<boolean>;
}

/**
 * The call journal: one row per model call, written before it is sent and completed after. Token fields
 * are token counts (as reported, or estimated), times epoch ms. Storage failures: see Store.
 */
export interface CallJournal {
  /** Returns the new row's id. */
  begin(call: NewModelCall): Promise<number>;
  finish(id: number, outcome: CallOutcome): Promise<void>;
  /** A workflow's calls, oldest first. */
  list(workflowId: string): Promise<ModelCall[]>;
  /**
   * The ledger of the stored workflows (all, or the requester's): how many there are, and the calls
   * journaled for them summed per (provider, model) in SQL aggregates, for costOfGroups to price.
   * Token fields are token counts over the billed calls (not pending, with usage); `calls` counts
   * the completed ones. Calls of workflows never stored are not in it (see unattachedUsage). Groups
   * are ordered by provider, then model; a group with no calls is not listed.
   */
  ledger(filter?: LedgerFilter): Promise<Ledger>;
  /** Completed calls journaled for a workflow that was never stored (plans that stayed invalid). */
  unattachedUsage(): Promise<{ calls: number; input_tokens: number; cached_tokens: number; output_tokens: number }>;
}

/** The processes sharing the database (owners), their heartbeats, and what they hold. Times are epoch ms. */
export interface OwnerRegistry {
  upsert(owner: Owner): Promise<void>;
  /** False when the owner row is gone: another process took this one for dead and reaped it. */
  heartbeat(ownerId: string, now: number): Promise<boolean>;
  get(id: string): Promise<Owner | null>;
  list(): Promise<Owner[]>;
  /**
   * Lets go of everything `owner` holds, in one transaction: its pending calls become `abandoned`
   * (sent, outcome unknown; their input is estimated from requestBytes at 4 bytes a token and
   * marked estimated, since the provider may well have billed them), its running subtasks go back to the status they were claimed from,
   * its workflow locks are cleared, its tasks are orphaned, and its owner row is deleted. The apply
   * lock of its changes (changes.lock_owner) is kept: held by a dead owner, it tells the next process
   * that the worktree may hold an attempt never recorded (see recoverWorktree in changes.ts).
   */
  release(owner: string, now: number): Promise<{ calls: number; subtasks: number }>;
}

/** MCP tasks as stored (see TaskRecord). */
export interface TaskRecords {
  insert(task: TaskRecord): Promise<void>;
  get(id: string): Promise<TaskRecord | null>;
  update(id: string, patch: Partial<Pick<TaskRecord, 'status' | 'statusMessage' | 'result' | 'owner' | 'workflowId'>>, now: number): Promise<void>;
  /** Oldest first, after the task `afterId` when given. */
  list(limit: number, afterId?: string): Promise<TaskRecord[]>;
  /** Deletes tasks whose ttl has run out; returns how many. */
  deleteExpired(now: number): Promise<number>;
}

/**
 * Persistence, split by aggregate. Every method is asynchronous. Outside a transaction each call
 * is its own statement (writes each their own transaction). `transaction(fn)` runs `fn` as one
 * write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: the transactions touching one workflow
 * one after the other, by a lock on its row) and hands it a Store
 * bound to that transaction: inside `fn`, use that handle, never the outer store (on SQLite's single
 * connection the outer one would wait for the transaction to end; the adapter throws instead).
 * `transaction` on a bound handle joins the transaction it belongs to.
 *
 * Errors: StorageError (code storage_unavailable, with reason full | read_only | corrupt | busy | io |
 * connection) for failures of the storage itself; the transaction is rolled back and nothing of it is
 * kept. Whatever `fn` throws rolls the transaction back too and is rethrown as it is.
 */
export interface Store {
  readonly workflows: WorkflowRecords;
  readonly calls: CallJournal;
  readonly owners: OwnerRegistry;
  readonly tasks: TaskRecords;
  readonly changes: ChangeRecords;
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
}

/**
 * Whether a process on this machine is still running. `host` is an Owner's host (the adapter's host
 * identity: machine, boot and PID namespace, not only the hostname, since containers share
 * hostnames); null: cannot tell (another host, or another PID namespace).
 */
export interface ProcessProbe {
  isRunning(host: string, pid: number): boolean | null;
}

/** A file read by WorkspaceReader.read (the part of it that fits the cap). */
export interface WorkspaceFile {
  kind: 'file';
  path: string;
  /** Size of the whole file, bytes. */
  bytes: number;
  /** Text read, at most the cap given, cut on a UTF-8 character boundary. */
  content: string;
  truncated: boolean;
  /** The file holds NUL bytes: nothing of it is shown. */
  binary: boolean;
  /** sha256 of the bytes read (the part shown), hex. */
  sha256: string;
}

/** WorkspaceReader.read's answer for a path that does not exist inside the root. */
export interface MissingFile {
  kind: 'missing';
  path: string;
}

/**
 * Files of workspaces, read confined to a root. `read` takes an absolute root (a workflow's) and a
 * path relative to it, reads at most `maxBytes` bytes (cut on a UTF-8 boundary) and answers
 * MissingFile for a path that does not exist inside the root. Throws path_outside_root for a path
 * that leaves the root (.., absolute, a symlink out), and file_unreadable for what must not or
 * cannot be read (not a regular file, a secret file or hard link withheld, no such root).
 */
export interface WorkspaceReader {
  read(root: string, path: string, maxBytes: number): Promise<WorkspaceFile | MissingFile>;
}

/**
 * The files of a worktree as an editing executor changes them, confined to it: `root` is absolute,
 * `path` relative to it. A path with a symlink anywhere on the way (a linked dependency folder such
 * as node_modules, or a link out of the worktree) is refused, as are .git and what is not a regular
 * file. Throws path_outside_root or file_unreadable (with the reason) for refused paths.
 */
export interface WorkspaceWriter {
  /**
   * The file's text (UTF-8), or null when it does not exist; a binary file (NUL bytes), and a path
   * under a file (nothing could be written there), are file_unreadable.
   */
  readText(root: string, path: string): Promise<string | null>;
  /**
   * Writes the whole file, creating its folders; atomically (a crash leaves the old file or the new
   * one). True when it created the file (nothing was at the path), false when it replaced one.
   */
  writeText(root: string, path: string, content: string): Promise<boolean>;
  /** Deletes the file; nothing happens when it does not exist. */
  remove(root: string, path: string): Promise<void>;
}

/**
 * Counts o200k_base tokens (the GPT-5 family's encoding): the figure budgets, estimates and result bounds
 * use. Adapter: src/adapters/tokens/gpt-token-counter.ts (gpt-tokenizer).
 */
export interface TokenCounter {
  count(text: string): number;
}

/** The time every stored timestamp comes from: now() in epoch milliseconds. Adapter: systemClock (Date.now). */
export interface Clock {
  now(): number;
}

/**
 * Makes new workflow ids: unique across processes sharing the database, short enough to type (at most 64
 * characters, the tools' limit). Adapter: randomIds ('wf-' and 12 hex digits).
 */
export interface IdSource {
  workflowId(): string;
}

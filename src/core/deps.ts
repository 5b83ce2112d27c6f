import type { ContextLimits } from './context.js';
import type { PriceTable } from './cost.js';
import type { ChangesRepository } from './changes-ports.js';
import type { Clock, IdSource, ModelProvider, Store, TokenCounter, WorkspaceReader, WorkspaceWriter } from './ports.js';
import type { Runtime } from './runtime.js';
import type { Role, TokenBudget } from './types.js';

/** The settings the use cases read: src/config.ts's, put together by the composition root (src/main.ts compose). */
export interface CoreSettings {
  /** The workspace root new workflows read from unless the host names one (MCP roots); null: none. */
  root: string | null;
  models: Readonly<Record<Role, string>>;
  /**
   * The provider kind of each role ('responses', 'chat', 'codex'), journaled with every call and used
   * by the cost rules (src/core/cost.ts: a codex call is billed to a subscription, not in USD).
   */
  providers: Readonly<Record<Role, string>>;
  prices: PriceTable;
  /** Models that accept `prompt_cache_retention: "24h"`. */
  extendedCacheModels: readonly string[];
  context: ContextLimits;
  /** Cap on `max_output_tokens` per role; undefined leaves it to the provider. */
  maxOutputTokens: Readonly<Record<Role, number | undefined>>;
  /** Characters of one subtask output sent to the planner for review. */
  reviewOutputChars: number;
  /** UTF-8 bytes of a long text field (an output) in one tool result; the rest is paged. */
  resultBytes: number;
  /** Subtasks run_workflow executes at once, unless the call says otherwise. */
  concurrency: number;
  /** The role of each attempt of a routine subtask; past the end, a human decides. */
  ladder: readonly Role[];
  /** Token budgets a new workflow gets unless its call sets them (empty: no limit). */
  defaultBudget: TokenBudget;
  /** The planner thread is compacted when a call would carry more than `at` x contextLimit (or x the planner budget). */
  compaction: { contextLimit: number | undefined; at: number };
  /** In a wave, run the first of the subtasks that share files before the others, so they hit the prefix cache. */
  cachePriming: boolean;
  /** Changes: executors edit code in a git worktree per workflow, checks verify it (PRODUCT.md, "Changes"). */
  changes: ChangesSettings;
}

/** How workflows make changes (PRODUCT.md, "Changes"), from the settings each field names. */
export interface ChangesSettings {
  /** PLANEXEC_CHANGES: 'worktree' (when the root is a git repository) or 'off'. */
  mode: 'worktree' | 'off';
  /** PLANEXEC_CHECKS: checks every workflow runs after each subtask that changed files (always allowed). */
  hostChecks: readonly string[];
  /** PLANEXEC_ALLOWED_CHECKS: patterns of planner-proposed checks that may run (matched word by word: matchesAllowed in commands.ts). */
  allowedChecks: readonly string[];
  /**
   * Whether the `checks` of a plan_task / run_workflow request run as given (true: over stdio, where
   * the host is the user) or must be among hostChecks or match allowedChecks (false: over HTTP,
   * where any token holder could otherwise run any command on the server). Set by the composition
   * root from the transport, not by a setting.
   */
  trustRequestChecks: boolean;
  /** PLANEXEC_CHECK_TIMEOUT_MS: one check is killed (its whole process group) after this, ms. */
  checkTimeoutMs: number;
  /** PLANEXEC_WORKTREES: the folder the workflows' worktrees are made in (absolute). */
  worktreesDir: string;
  /** PLANEXEC_WORKTREE_SETUP: a command run once in a new worktree (null: link the root's dependency folders instead). */
  setup: string | null;
}

/** Everything the use cases need, injected by the composition root (src/main.ts compose) or a test. */
export interface CoreDeps {
  store: Store;
  /** The provider of each role's model (the same one for both, or one per role: PLANEXEC_*_PROVIDER). */
  models: Readonly<Record<Role, ModelProvider>>;
  files: WorkspaceReader;
  /** Writes the files of a worktree for editing executors (confined to it). */
  writer: WorkspaceWriter;
  /** git, for changes; null where there is none (changes are then off). */
  git: ChangesRepository | null;
  tokens: TokenCounter;
  clock: Clock;
  ids: IdSource;
  /** Identifies this process in leases and the call journal. */
  owner: string;
  /** This process among the others on the database: liveness, locks, local work per workflow. */
  runtime: Runtime;
  settings: CoreSettings;
  /**
   * Masks secrets (the configured keys and tokens, and what looks like one) in a text planexec
   * stores: a failed call's error in the journal, a workflow's last_error. A safety net under the
   * providers' own redaction; built by the composition root, which alone knows the secrets.
   */
  redact: (text: string) => string;
}

// Builds the argument array for one `codex exec --json` call. Pure, so tests can check exactly what is
// sent. Flag names and their placement: docs/research/codex-exec.md (codex-rs/exec/src/cli.rs and
// `codex exec --help` / `codex exec resume --help` of codex-cli 0.171.0).

/** Efforts passed as `model_reasoning_effort`: the ones every current model takes (codex-sdk 0.163's ModelReasoningEffort also lists max, ultra, persistent). */
export type CodexReasoningEffort = 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';

/**
 * Overrides that leave the model without tools it could act on its own with (codex-cli 0.171.0 feature
 * names, checked with `codex features list`): the shell, multi-agent spawning, goals, web search.
 */
const NO_TOOLS = ['features.shell_tool=false', 'features.multi_agent=false', 'features.goals=false', 'web_search="disabled"'];

/** One call's settings; codexExecArgs turns them into flags. Paths are absolute or relative to the spawn cwd. */
export interface CodexExecOptions {
  /** Passed as `-m`; on resume a different model makes the CLI add a model-switch note to the thread. */
  model: string;
  /** Working root of the agent (`-C`). Give an empty private directory: the model reads nothing on its own. */
  cwd: string;
  /** Only read-only is allowed: planexec never lets the CLI write to the workspace. */
  sandbox: 'read-only';
  /** JSON Schema file for a structured answer (`--output-schema`); the CLI sends it as a strict json_schema format. */
  outputSchemaPath?: string;
  /** Continue this stored thread (`exec resume <id>`); omit to start a new one. */
  resumeThreadId?: string;
  /** `--ephemeral`: keep no session file, so the thread cannot be resumed. For one-shot executor calls. */
  ephemeral?: boolean;
  /**
   * Text added as a developer message when a NEW thread starts (`-c developer_instructions=...`).
   * A resumed thread keeps the instructions it started with; the CLI ignores a changed value.
   */
  developerInstructions?: string;
  /** `-c model_reasoning_effort=...`. */
  reasoningEffort?: CodexReasoningEffort;
  /**
   * Default true: turn off the tools a plain model call does not need (shell, web search), so the
   * model answers from the prompt alone. Uses `-c features.x=false`, which unknown versions only warn
   * about, not `--disable`, which fails on a feature name the CLI does not know.
   */
  disableTools?: boolean;
  /**
   * Default true: `--ignore-user-config`, so the user's config.toml (its MCP servers, which may include
   * planexec itself, its profiles and providers) is not loaded. Sign-in still comes from CODEX_HOME.
   */
  ignoreUserConfig?: boolean;
  /** Extra `-c key=value` overrides, values already in TOML syntax (use tomlString for strings). */
  config?: string[];
}

/**
 * The argv (without the binary) for one non-interactive call whose prompt is written to stdin.
 * Every option goes before `resume`: the resume subcommand rejects `--sandbox`, `-C` and `--color`
 * (clap exits 2: "unexpected argument"). The prompt is `-`, so the CLI reads stdin to EOF: the caller
 * must write the prompt and close stdin. Throws on an empty model, cwd or thread id, or a thread id
 * that starts with '-' (it would be read as a flag).
 */
export function codexExecArgs(opts: CodexExecOptions): string[] {
  if (!opts.model.trim()) throw new Error('codexExecArgs: model is empty');
  if (!opts.cwd) throw new Error('codexExecArgs: cwd is empty');
  if (opts.sandbox !== 'read-only') throw new Error(`codexExecArgs: sandbox must be read-only, got ${String(opts.sandbox)}`);
  const args = ['exec', '--json', '--color', 'never', '--skip-git-repo-check', '--sandbox', 'read-only', '-C', opts.cwd, '-m', opts.model];
  if (opts.ignoreUserConfig ?? true) args.push('--ignore-user-config');
  if (opts.ephemeral) args.push('--ephemeral');
  if (opts.outputSchemaPath) args.push('--output-schema', opts.outputSchemaPath);
  const config: string[] = [];
  if (opts.disableTools ?? true) config.push(...NO_TOOLS);
  if (opts.developerInstructions !== undefined) config.push(`developer_instructions=${tomlString(opts.developerInstructions)}`);
  if (opts.reasoningEffort) config.push(`model_reasoning_effort=${tomlString(opts.reasoningEffort)}`);
  config.push(...(opts.config ?? []));
  for (const c of config) args.push('-c', c);
  if (opts.resumeThreadId !== undefined) {
    const id = opts.resumeThreadId;
    if (!id || id.startsWith('-')) throw new Error(`codexExecArgs: bad thread id '${id}'`);
    args.push('resume', id);
  }
  args.push('-');
  return args;
}

/**
 * A TOML basic string for a `-c key=value` override. JSON escapes are valid TOML escapes except for
 * lone surrogates, which TOML rejects (the CLI would then take the raw text as a literal), so those
 * are replaced with U+FFFD first.
 */
export function tomlString(value: string): string {
  return JSON.stringify(value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
}

// Check commands as the user or the planner writes them ("npm test", "node --test a.test.js"):
// split into an argument array the way a POSIX shell would, without a shell (refusing what only a
// shell would do), and matched against PLANEXEC_ALLOWED_CHECKS. Pure.
import { invalidInput, PlanexecError } from './errors.js';

const OPERATOR_HINT = 'a check is one command; list several checks instead';

function refuse(command: string, what: string, hint = OPERATOR_HINT): never {
  throw new PlanexecError('invalid_input', `Check command ${JSON.stringify(command)} ${what}; checks run without a shell: ${hint}.`, `${hint.charAt(0).toUpperCase()}${hint.slice(1)}.`, { command });
}

/**
 * Splits a check command ("npm run lint -- --fix") into argv without a shell, the way POSIX sh would
 * split it, for the subset of sh that means the same without a shell: words separated by spaces or
 * tabs, 'single quotes' (everything literal), "double quotes" (a backslash escapes " \ $ ` and a
 * newline), a backslash outside quotes escapes the next character, backslash-newline joins lines.
 * Everything a shell would treat specially is refused with invalid_input, never passed on:
 * operators | & ; < > ( ) and an unquoted newline ("a check is one command; list several checks
 * instead"), $ (variables, $(...)) and backticks, unquoted globs * ? [, brace expansion {a,b} / {1..3},
 * ~ at the start of a word, # starting a comment, a leading NAME=value assignment (use `env NAME=value
 * cmd`), and unterminated quotes or a trailing backslash. Quote a character to pass it as it is.
 */
export function splitCommand(command: string): string[] {
  return splitWords(command, false).map((word) => word.join(''));
}

/** Stands for an unquoted '*' of a PLANEXEC_ALLOWED_CHECKS pattern in a split word. */
const ANY = Symbol('*');
/** A word of a split pattern: literal text and ANY, in order (adjacent texts joined). */
type PatternWord = Array<string | typeof ANY>;

/**
 * Splits a PLANEXEC_ALLOWED_CHECKS pattern ("node --test test/*.test.mjs") into words as splitCommand
 * splits a check, except that an unquoted '*' is a wildcard instead of a refusal (a quoted '*' is a
 * literal star). Throws invalid_input as splitCommand does for anything else a shell would treat
 * specially (operators, $, unquoted ? and [, ...).
 */
export function splitPattern(pattern: string): PatternWord[] {
  return splitWords(pattern, true).map((word) => {
    const out: PatternWord = [];
    for (const piece of word) {
      const last = out[out.length - 1];
      if (typeof piece === 'string' && typeof last === 'string') out[out.length - 1] = last + piece;
      else if (piece !== '') out.push(piece);
    }
    return out.length ? out : [''];
  });
}

/** The tokenizer of splitCommand and splitPattern; `wildcards`: an unquoted '*' is ANY, not a refusal. */
function splitWords(command: string, wildcards: boolean): Array<Array<string | typeof ANY>> {
  const words: Array<Array<string | typeof ANY>> = [];
  let word: Array<string | typeof ANY> = [];
  let inWord = false;
  let plain = true; // every character of the word so far was unquoted and could belong to a NAME
  let assignment = false;
  let i = 0;
  const n = command.length;
  const text = () => word.filter((piece) => typeof piece === 'string').join('');
  const end = () => {
    if (!inWord) return;
    if (words.length === 0 && assignment) refuse(command, `starts with the assignment ${JSON.stringify(text())}`, 'set variables with `env NAME=value command`, or leave them out');
    words.push(word);
    word = [];
    inWord = false;
    assignment = false;
    plain = true;
  };
  const add = (piece: string | typeof ANY, quoted: boolean) => {
    inWord = true;
    // sh reads a first word that starts with an unquoted NAME= as a variable assignment.
    if (!quoted && piece === '=' && plain && /^[A-Za-z_][A-Za-z0-9_]*$/.test(text())) assignment = true;
    if (quoted || typeof piece !== 'string' || !/^[A-Za-z0-9_]$/.test(piece)) plain = false;
    word.push(piece);
  };
  while (i < n) {
    const c = command[i]!;
    if (c === ' ' || c === '\t') {
      end();
      i += 1;
    } else if (c === '\n' || c === '\r') {
      refuse(command, 'has a line break, which separates commands');
    } else if (c === '\\') {
      if (i + 1 >= n) refuse(command, 'ends with a backslash', 'remove the trailing backslash');
      if (command[i + 1] === '\n') i += 2;
      else {
        add(command[i + 1]!, true);
        i += 2;
      }
    } else if (c === "'") {
      const close = command.indexOf("'", i + 1);
      if (close < 0) refuse(command, 'has an unterminated single quote', 'close the quote');
      add(command.slice(i + 1, close), true); // '' is an empty argument, as in sh
      i = close + 1;
    } else if (c === '"') {
      let j = i + 1;
      let quoted = '';
      for (;;) {
        if (j >= n) refuse(command, 'has an unterminated double quote', 'close the quote');
        const d = command[j]!;
        if (d === '"') break;
        if (d === '$' || d === '`') refuse(command, `uses ${d === '$' ? '$ (a variable or substitution)' : 'a backtick substitution'} inside double quotes`, "write the value itself, or use single quotes for a literal '$'");
        if (d === '\\' && j + 1 < n && '"\\$`\n'.includes(command[j + 1]!)) {
          if (command[j + 1] !== '\n') quoted += command[j + 1];
          j += 2;
          continue;
        }
        quoted += d;
        j += 1;
      }
      add(quoted, true);
      i = j + 1;
    } else if ('|&;<>()'.includes(c)) {
      refuse(command, `uses the shell operator ${JSON.stringify(c)}`);
    } else if (c === '`') {
      refuse(command, 'uses a backtick substitution');
    } else if (c === '$') {
      refuse(command, `uses ${command[i + 1] === '(' ? 'a $( ) substitution' : 'a $ variable'}`, "write the value itself, or quote it ('$HOME') to pass a literal '$'");
    } else if (c === '*' && wildcards) {
      add(ANY, false);
      i += 1;
    } else if (c === '*' || c === '?' || c === '[') {
      refuse(command, `has the unquoted glob character ${JSON.stringify(c)}`, "quote the pattern ('src/*.ts') to pass it to the command as it is; most tools expand globs themselves");
    } else if (c === '#' && !inWord) {
      refuse(command, 'has a # comment', 'remove the comment, or quote the #');
    } else if (c === '~' && !inWord) {
      refuse(command, 'starts a word with ~, which a shell would expand to a home folder', 'write the path in full, or quote the ~');
    } else if (c === '{' && braceExpands(command, i)) {
      refuse(command, 'uses brace expansion', 'list the words in full, or quote the braces');
    } else {
      add(c, false);
      i += 1;
    }
  }
  end();
  if (!words.length) throw invalidInput('A check command is empty.', 'Give a command such as "npm test".');
  if (words[0]!.length === 1 && words[0]![0] === '!') refuse(command, 'starts with !, which negates a shell pipeline', 'drop the !; a check passes when its command exits 0');
  return words;
}

/** Would sh brace-expand at `open`: an unquoted '{' with an unquoted ',' or '..' before its '}'? */
function braceExpands(command: string, open: number): boolean {
  let depth = 0;
  for (let j = open; j < command.length; j += 1) {
    const c = command[j]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === "'" || c === '"' || c === '\\') return false;
    if (c === '{') depth += 1;
    else if (c === '}') {
      depth -= 1;
      if (depth === 0) {
        const body = command.slice(open + 1, j);
        return body.includes(',') || /^[^.]+\.\.[^.]+$/.test(body);
      }
    }
  }
  return false;
}

/**
 * Whether `command` matches one of the PLANEXEC_ALLOWED_CHECKS patterns, word by word: both are split
 * as a shell would split them (splitCommand, splitPattern), and a command that cannot be split
 * matches nothing, as does a pattern that cannot. A literal word must equal the command's word. A
 * '*' inside a word matches a run of characters (none included) within that word, never a '/'. A
 * word that is '*' alone matches one or more words. Whatever a '*' matched must not make an option
 * or an absolute path of a word or of a value in it (after = : , or @: `make SHELL=/tmp/x.sh`,
 * `env NODE_OPTIONS=--require=x`), nor a '..' segment (`test/../../x`, `VAR=..`): these are what turn
 * a narrow pattern into any program, file or option. Case-sensitive. Pure; never throws.
 */
export function matchesAllowed(command: string, patterns: readonly string[]): boolean {
  let words: string[];
  try {
    words = splitCommand(command);
  } catch {
    return false;
  }
  return patterns.some((pattern) => {
    let split: PatternWord[];
    try {
      split = splitPattern(pattern);
    } catch {
      return false;
    }
    return matchFrom(words, 0, split, 0);
  });
}

/** Does words[i..] match pattern[j..]? Backtracks over how many words each lone '*' takes. */
function matchFrom(words: readonly string[], i: number, pattern: readonly PatternWord[], j: number): boolean {
  if (j === pattern.length) return i === words.length;
  const p = pattern[j]!;
  if (p.length === 1 && p[0] === ANY) {
    for (let k = i; k < words.length; k += 1) {
      if (!harmless(words[k]!, [[0, words[k]!.length]])) return false;
      if (matchFrom(words, k + 1, pattern, j + 1)) return true;
    }
    return false;
  }
  return i < words.length && matchWord(words[i]!, p) && matchFrom(words, i + 1, pattern, j + 1);
}

/**
 * Characters after which a program may read the rest of a word as a path or an option of its own:
 * `NAME=value` (make, env: `make SHELL=/tmp/x.sh`), `--opt=value`, `a,b` and `a:b` lists
 * (`PATH`-like values, `file:/x` URLs), `@file` (response files of gcc, javac, msbuild).
 */
const VALUE_START = /[=:,@]/;

/**
 * Whether what the '*'s supplied (`spans`: [start, end) of each '*' in `word`) leaves the word
 * harmless: no value that starts with '-' (an option: `--import=data:...`, `NODE_OPTIONS=--require=x`)
 * or '/' (an absolute path: `SHELL=/tmp/x.sh`), where a value is the word itself or what follows
 * = : , or @ in it, when a '*' supplied its first character or the separator before it, or matched
 * nothing there (`*-x` matching `-x`); and no segment between / = : , @ that is '..' (`test/../x`,
 * `VAR=..`) when a '*' supplied any of it or matched nothing next to it.
 * Literal text of the pattern is the pattern author's choice and is never refused.
 */
function harmless(word: string, spans: ReadonlyArray<readonly [number, number]>): boolean {
  const starts = [0];
  for (let at = 0; at < word.length; at += 1) if (VALUE_START.test(word[at]!)) starts.push(at + 1);
  // A '*' made the value when it supplied its first character or the separator before it, or
  // matched nothing right there.
  if (starts.some((start) => spans.some(([s, e]) => s <= start && start <= e) && (word[start] === '-' || word[start] === '/'))) return false;
  let from = 0;
  for (let at = 0; at <= word.length; at += 1) {
    if (at < word.length && word[at] !== '/' && !VALUE_START.test(word[at]!)) continue;
    const touched = spans.some(([s, e]) => s <= at && e >= from);
    if (touched && word.slice(from, at) === '..') return false;
    from = at + 1;
  }
  return true;
}

/**
 * Does `word` match the pattern word `p`? Its '*'s match within a '/'-separated segment, so the
 * word's segments line up with the pattern's; what they matched must leave the word harmless (see
 * harmless). When several ways to match exist, the regular expression's (greedy, leftmost) one is
 * judged.
 */
function matchWord(word: string, p: PatternWord): boolean {
  if (!p.includes(ANY)) return word === p.join('');
  const source = p.map((piece) => (piece === ANY ? '([^/]*)' : piece.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('');
  const match = new RegExp(`^${source}$`, 'du').exec(word);
  if (!match?.indices) return false;
  const spans = match.indices.slice(1).filter((span): span is [number, number] => span !== undefined);
  return harmless(word, spans);
}

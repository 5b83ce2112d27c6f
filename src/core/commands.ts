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
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let plain = true; // every character of the word so far was unquoted and could belong to a NAME
  let assignment = false;
  let i = 0;
  const n = command.length;
  const end = () => {
    if (!inWord) return;
    if (words.length === 0 && assignment) refuse(command, `starts with the assignment ${JSON.stringify(word)}`, 'set variables with `env NAME=value command`, or leave them out');
    words.push(word);
    word = '';
    inWord = false;
    assignment = false;
    plain = true;
  };
  const add = (text: string, quoted: boolean) => {
    inWord = true;
    // sh reads a first word that starts with an unquoted NAME= as a variable assignment.
    if (!quoted && text === '=' && plain && /^[A-Za-z_][A-Za-z0-9_]*$/.test(word)) assignment = true;
    if (quoted || !/^[A-Za-z0-9_]$/.test(text)) plain = false;
    word += text;
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
      let text = '';
      for (;;) {
        if (j >= n) refuse(command, 'has an unterminated double quote', 'close the quote');
        const d = command[j]!;
        if (d === '"') break;
        if (d === '$' || d === '`') refuse(command, `uses ${d === '$' ? '$ (a variable or substitution)' : 'a backtick substitution'} inside double quotes`, "write the value itself, or use single quotes for a literal '$'");
        if (d === '\\' && j + 1 < n && '"\\$`\n'.includes(command[j + 1]!)) {
          if (command[j + 1] !== '\n') text += command[j + 1];
          j += 2;
          continue;
        }
        text += d;
        j += 1;
      }
      add(text, true);
      i = j + 1;
    } else if ('|&;<>()'.includes(c)) {
      refuse(command, `uses the shell operator ${JSON.stringify(c)}`);
    } else if (c === '`') {
      refuse(command, 'uses a backtick substitution');
    } else if (c === '$') {
      refuse(command, `uses ${command[i + 1] === '(' ? 'a $( ) substitution' : 'a $ variable'}`, "write the value itself, or quote it ('$HOME') to pass a literal '$'");
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
  if (words[0] === '!') refuse(command, 'starts with !, which negates a shell pipeline', 'drop the !; a check passes when its command exits 0');
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
 * Whether `command` matches one of the PLANEXEC_ALLOWED_CHECKS patterns: a '*' matches any run of
 * characters (none included), every other character matches itself, and a pattern must match the
 * whole command (both trimmed of surrounding whitespace). Case-sensitive. Pure.
 */
export function matchesAllowed(command: string, patterns: readonly string[]): boolean {
  const text = command.trim();
  return patterns.some((pattern) => {
    const p = pattern.trim();
    if (!p) return false;
    const source = p
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[\\s\\S]*');
    return new RegExp(`^${source}$`).test(text);
  });
}

// The pure parts of running checks: splitting a check command without a shell (and refusing what
// only a shell would understand), PLANEXEC_ALLOWED_CHECKS patterns, and the environment scrub.
import { describe, expect, it } from 'vitest';
import { matchesAllowed, scrubEnv, splitCommand } from '../../src/adapters/process/run-command.js';
import { splitPattern } from '../../src/core/commands.js';
import { PlanexecError } from '../../src/core/errors.js';

function refusal(command: string): PlanexecError {
  try {
    splitCommand(command);
  } catch (error) {
    expect(error).toBeInstanceOf(PlanexecError);
    expect((error as PlanexecError).code).toBe('invalid_input');
    return error as PlanexecError;
  }
  throw new Error(`expected ${JSON.stringify(command)} to be refused`);
}

describe('splitCommand', () => {
  it.each([
    ['node --test', ['node', '--test']],
    ['  npm   run lint -- --fix  ', ['npm', 'run', 'lint', '--', '--fix']],
    [`npx vitest run -t "adds two numbers"`, ['npx', 'vitest', 'run', '-t', 'adds two numbers']],
    [`pytest -k 'a or b' tests/`, ['pytest', '-k', 'a or b', 'tests/']],
    [`echo a\\ b "c\\"d" 'e\\f'`, ['echo', 'a b', 'c"d', 'e\\f']],
    [`printf "%s" "x\\ny"`, ['printf', '%s', 'x\\ny']],
    [`eslint 'src/**/*.ts'`, ['eslint', 'src/**/*.ts']],
    [`grep -E 'foo$' file "a|b"`, ['grep', '-E', 'foo$', 'file', 'a|b']],
    [`node -e ''`, ['node', '-e', '']],
    [`pre"mid"'post'`, ['premidpost']],
    ['env NODE_ENV=test npm test', ['env', 'NODE_ENV=test', 'npm', 'test']],
    ['npm test -- --flag=value a=b', ['npm', 'test', '--', '--flag=value', 'a=b']],
    ['a\tb', ['a', 'b']],
    ['cargo test -p my-crate\\\n --lib', ['cargo', 'test', '-p', 'my-crate', '--lib']],
    ['find . -name x -exec rm {} \\;', ['find', '.', '-name', 'x', '-exec', 'rm', '{}', ';']],
    ['echo a~b c#d', ['echo', 'a~b', 'c#d']],
    [`'FOO=1' cmd`, ['FOO=1', 'cmd']],
  ])('splits %j like sh does', (command, argv) => {
    expect(splitCommand(command)).toEqual(argv);
  });

  it.each([
    ['npm test && npm run lint', '"&"'],
    ['npm test || true', '"|"'],
    ['npm test; rm -rf /', '";"'],
    ['npm test | tee log', '"|"'],
    ['npm test > out.txt', '">"'],
    ['npm test < in.txt', '"<"'],
    ['npm test &', '"&"'],
    ['(cd web && npm test)', '"("'],
    ['npm test\nnpm run lint', 'line break'],
  ])('refuses the shell operator in %j: a check is one command', (command, named) => {
    const error = refusal(command);
    expect(error.message).toContain(named);
    expect(error.message).toContain('a check is one command; list several checks instead');
    expect(error.hint).toBe('A check is one command; list several checks instead.');
    expect(error.details).toEqual({ command });
  });

  it.each([
    ['echo $HOME', 'variable'],
    ['echo ${HOME}', 'variable'],
    ['echo $(whoami)', '$( )'],
    ['echo "$(whoami)"', 'inside double quotes'],
    ['echo `whoami`', 'backtick'],
    ['echo "`whoami`"', 'backtick'],
    ['node --test test/*.test.js', 'glob'],
    ['ls file?.txt', 'glob'],
    ['ls [ab].txt', 'glob'],
    ['echo {a,b}', 'brace'],
    ['echo x{1..3}', 'brace'],
    ['cat ~/secret', '~'],
    ['npm test # comment', 'comment'],
    ['NODE_ENV=test npm test', 'assignment'],
    ['! npm test', '!'],
    ['echo "open', 'unterminated double quote'],
    ["echo 'open", 'unterminated single quote'],
    ['echo trailing\\', 'backslash'],
    ['   ', 'empty'],
  ])('refuses %j, which only a shell would understand (%s)', (command, named) => {
    expect(refusal(command).message).toContain(named);
  });
});

describe('matchesAllowed', () => {
  it('matches word by word: literal words must be equal, a lone * takes one or more words', () => {
    expect(matchesAllowed('npm test', ['npm test'])).toBe(true);
    expect(matchesAllowed('  npm   test  ', ['npm test'])).toBe(true);
    expect(matchesAllowed(`npm 'test'`, ['npm test'])).toBe(true);
    expect(matchesAllowed('npm run lint', ['npm run *'])).toBe(true);
    expect(matchesAllowed('npx vitest run test/a.test.ts test/b.test.ts', ['npx vitest run *'])).toBe(true);
    expect(matchesAllowed('node --test', ['node --test *'])).toBe(false);
    expect(matchesAllowed('npm test', ['npm run *'])).toBe(false);
    expect(matchesAllowed('npm testx', ['npm test'])).toBe(false);
    expect(matchesAllowed('xnpm test', ['npm test'])).toBe(false);
    expect(matchesAllowed('npm test extra', ['npm test'])).toBe(false);
    expect(matchesAllowed('cargo test -p a', ['go test *', 'cargo test -p *'])).toBe(true);
    expect(matchesAllowed('npm test', [])).toBe(false);
    expect(matchesAllowed('anything at all', [''])).toBe(false);
    expect(matchesAllowed('anything at all', ['*'])).toBe(true);
    expect(matchesAllowed('a b c', ['* c'])).toBe(true);
    expect(matchesAllowed('a b c', ['a * * c'])).toBe(false);
    expect(matchesAllowed('a b x c', ['a * * c'])).toBe(true);
  });

  it('matches a * inside a word within that word, never across a /', () => {
    expect(matchesAllowed('npm run', ['npm run*'])).toBe(true);
    expect(matchesAllowed('node --test test/a.test.mjs', ['node --test test/*.test.mjs'])).toBe(true);
    expect(matchesAllowed('node --test test/sub/a.test.mjs', ['node --test test/*.test.mjs'])).toBe(false);
    expect(matchesAllowed('node --test test/a.test.mjs test/b.test.mjs', ['node --test test/*.test.mjs'])).toBe(false);
    expect(matchesAllowed('node --test test/a.test.mjs /tmp/evil.test.mjs', ['node --test test/*.test.mjs'])).toBe(false);
    expect(matchesAllowed('node --test test/../../../../tmp/evil.test.mjs', ['node --test test/*.test.mjs'])).toBe(false);
    expect(matchesAllowed('npm run lint:fix', ['npm run lint*'])).toBe(true);
    expect(matchesAllowed('npm run lint --fix', ['npm run lint*'])).toBe(false);
    expect(matchesAllowed('vitest --reporter=dot', ['vitest --reporter=*'])).toBe(true);
    expect(matchesAllowed('pytest tests/a/test_x.py', ['pytest tests/*/test_*.py'])).toBe(true);
    expect(matchesAllowed('pytest tests/../test_x.py', ['pytest tests/*/test_*.py'])).toBe(false);
    expect(matchesAllowed('pytest tests/../test_x.py', ['pytest tests/../test_*.py'])).toBe(true);
  });

  it('never lets a * supply an option, an absolute path or a .. segment', () => {
    expect(matchesAllowed(`node --test '--import=data:text/javascript,process.exit(0)' README.md`, ['node --test *'])).toBe(false);
    expect(matchesAllowed('node --test --import=x.mjs a.test.mjs', ['node --test *'])).toBe(false);
    expect(matchesAllowed('git diff --no-index /dev/null /etc/secret', ['git diff *'])).toBe(false);
    expect(matchesAllowed('git diff /etc/secret', ['git diff *'])).toBe(false);
    expect(matchesAllowed('cat ../../etc/passwd', ['cat *'])).toBe(false);
    expect(matchesAllowed('cat docs/..', ['cat *'])).toBe(false);
    expect(matchesAllowed('npm run lint -- --fix', ['npm run *'])).toBe(false);
    expect(matchesAllowed('node -e x.test.mjs', ['node *.test.mjs'])).toBe(false);
    expect(matchesAllowed('node -x.test.mjs', ['node *.test.mjs'])).toBe(false);
    expect(matchesAllowed('node /x.test.mjs', ['node */x.test.mjs'])).toBe(false);
    expect(matchesAllowed('node ../x.test.mjs', ['node */x.test.mjs'])).toBe(false);
    expect(matchesAllowed('node a/x.test.mjs', ['node */x.test.mjs'])).toBe(true);
    expect(matchesAllowed('git diff HEAD~1 src/a.ts', ['git diff *'])).toBe(true);
    // What the pattern spells out itself is not held against the command.
    expect(matchesAllowed('npm run lint -- --fix', ['npm run lint -- --fix'])).toBe(true);
    expect(matchesAllowed('npm run lint -- --fix', ['npm run * -- --fix'])).toBe(true);
    expect(matchesAllowed('node --test --test-reporter=dot a.test.mjs', ['node --test --test-reporter=* *'])).toBe(true);
  });

  it('never lets a * supply an option, an absolute path or a .. as the value after NAME=, --opt=, a , or : list, or @', () => {
    // A lone * (a whole word).
    expect(matchesAllowed('make SHELL=/tmp/evil.sh', ['make *'])).toBe(false);
    expect(matchesAllowed('make test SHELL=/tmp/evil.sh', ['make *'])).toBe(false);
    expect(matchesAllowed('env NODE_OPTIONS=--require=./x.cjs npm test', ['env * npm test'])).toBe(false);
    expect(matchesAllowed('make CFLAGS=-fplugin=x.so', ['make *'])).toBe(false);
    expect(matchesAllowed('make DIR=..', ['make *'])).toBe(false);
    expect(matchesAllowed('make DIR=a:..', ['make *'])).toBe(false);
    expect(matchesAllowed('make PATHS=a,/etc', ['make *'])).toBe(false);
    expect(matchesAllowed('make SRC=file:/etc/passwd', ['make *'])).toBe(false);
    expect(matchesAllowed('gcc @/tmp/options.rsp', ['gcc *'])).toBe(false);
    // Inside a word: the value a * supplied after a literal --opt= or NAME=.
    expect(matchesAllowed('vitest --reporter=..', ['vitest --reporter=*'])).toBe(false);
    expect(matchesAllowed('vitest --reporter=-x', ['vitest --reporter=*'])).toBe(false);
    expect(matchesAllowed('make SHELL=..', ['make SHELL=*'])).toBe(false);
    expect(matchesAllowed('npm run lint=-x', ['npm run lint*'])).toBe(false);
    expect(matchesAllowed('node ..', ['node .*.'])).toBe(false);
    // Ordinary values stay allowed.
    expect(matchesAllowed('make test VERBOSE=1', ['make *'])).toBe(true);
    expect(matchesAllowed('make DIR=build/out', ['make *'])).toBe(true);
    expect(matchesAllowed('npm test -w @scope/pkg', ['npm test -w *'])).toBe(true);
    expect(matchesAllowed('pytest tests/test_a.py::test_b', ['pytest *'])).toBe(true);
    expect(matchesAllowed('vitest --reporter=dot', ['vitest --reporter=*'])).toBe(true);
    expect(matchesAllowed('make SHELL=/bin/sh', ['make SHELL=/bin/sh'])).toBe(true);
    expect(matchesAllowed('node ../tools/run.mjs', ['node ../tools/*.mjs'])).toBe(true);
  });

  it('takes a quoted * in a pattern literally, and matches nothing for a command or pattern a shell would be needed for', () => {
    expect(matchesAllowed(`eslint 'src/**/*.ts'`, [`eslint 'src/**/*.ts'`])).toBe(true);
    expect(matchesAllowed(`eslint src/a.ts`, [`eslint 'src/*.ts'`])).toBe(false);
    expect(matchesAllowed('npm test; rm -rf /', ['npm test*', '*'])).toBe(false);
    expect(matchesAllowed('echo $HOME', ['echo *'])).toBe(false);
    expect(matchesAllowed('make (x)', ['make (x)'])).toBe(false);
    expect(matchesAllowed('pytest -k a.b', ['pytest -k a?b'])).toBe(false);
    expect(matchesAllowed('pytest -k axb', ['pytest -k a.b'])).toBe(false);
  });
});

describe('splitPattern', () => {
  it('splits a pattern like a command, with unquoted * as wildcards', () => {
    expect(splitPattern(`node --test 'test/*.test.mjs' test/*.mjs *`).map((word) => word.map((piece) => (typeof piece === 'string' ? piece : '<any>')))).toEqual([
      ['node'],
      ['--test'],
      ['test/*.test.mjs'],
      ['test/', '<any>', '.mjs'],
      ['<any>'],
    ]);
  });

  it('refuses what a shell would be needed for, as splitCommand does', () => {
    expect(() => splitPattern('npm test && *')).toThrow(/shell operator "&"/);
    expect(() => splitPattern('ls file?.txt')).toThrow(/glob character "\?"/);
  });
});

describe('scrubEnv', () => {
  it('drops provider keys, tokens, secrets, planexec settings, the SSH agent and git repository pointers', () => {
    const env = {
      PATH: '/usr/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      NODE_OPTIONS: '--max-old-space-size=4096',
      CI: 'true',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Ada',
      OPENAI_API_KEY: 'sk-1',
      OPENAI_ORG_ID: 'org',
      openai_api_key: 'lower',
      ANTHROPIC_API_KEY: 'x',
      AZURE_OPENAI_ENDPOINT: 'https://x',
      MISTRAL_API_KEY: 'x',
      SOME_SERVICE_APIKEY: 'x',
      HF_API_TOKEN: 'x',
      GH_TOKEN: 'x',
      NODE_AUTH_TOKEN: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
      AWS_SESSION_TOKEN: 'x',
      DB_PASSWORD: 'x',
      GOOGLE_APPLICATION_CREDENTIALS: '/key.json',
      STRIPE_SECRET_KEY: 'x',
      GITHUB_APP_PRIVATE_KEY: 'x',
      CODEX_API_KEY: 'x',
      PLANEXEC_PLANNER_API_KEY: 'x',
      PLANEXEC_HTTP_TOKEN: 'x',
      PLANEXEC_ROOT: '/repo',
      SSH_AUTH_SOCK: '/tmp/agent',
      GIT_DIR: '/x/.git',
      GIT_WORK_TREE: '/x',
      GIT_INDEX_FILE: '/x/index',
      GIT_CONFIG_PARAMETERS: "'core.hooksPath'='x'",
      GIT_CONFIG_KEY_0: 'a',
      UNSET: undefined,
    };
    expect(scrubEnv(env)).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/u',
      LANG: 'C.UTF-8',
      NODE_OPTIONS: '--max-old-space-size=4096',
      CI: 'true',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Ada',
    });
  });

  it('returns a copy and leaves its argument alone', () => {
    const env = { OPENAI_API_KEY: 'sk', PATH: '/bin' };
    const out = scrubEnv(env);
    expect(env.OPENAI_API_KEY).toBe('sk');
    expect(out).not.toBe(env);
  });
});

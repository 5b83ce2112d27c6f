// Finding a program on PATH the way execvp does, for the commands planexec starts through a wrapper
// (the check sandbox), where a missing program would otherwise be reported by the wrapper.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/**
 * The absolute path of an executable file `name` as execvp would find it: a name with a '/' is taken
 * from `cwd`; another is looked up in the absolute folders of `path` (a PATH value). Null when there
 * is none. Reads the file system; never throws.
 */
export function findProgram(name: string, path: string | undefined, cwd = process.cwd()): string | null {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (name.includes('/')) {
    const file = resolve(cwd, name);
    return executable(file) ? file : null;
  }
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir && isAbsolute(dir) && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

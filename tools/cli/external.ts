// External commands, as ostree runs them: `xylem FOO` for an unknown FOO looks for an executable
// `xylem-FOO` (under the test shim, where the program is `ostree`, `ostree-FOO`) on PATH and runs
// it with the remaining arguments and this environment, passing its exit status back.

import { accessSync, constants, statSync } from 'node:fs';

/** The path of `${prog}-${name}` on PATH, or null. Names with a slash are never looked up. */
export function findExternal(prog: string, name: string, path: string | undefined): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) return null;
  for (const dir of (path ?? '').split(':')) {
    const file = `${dir || '.'}/${prog}-${name}`;
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** Runs an external command with inherited stdio; its exit code (128+signal when killed). */
export async function runExternal(file: string, args: string[]): Promise<number> {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(file, args, { stdio: 'inherit' });
  if (r.error) throw new Error(`Failed to run ${file}: ${r.error.message}`);
  if (r.signal) {
    const { constants: os } = await import('node:os');
    return 128 + (os.signals[r.signal] ?? 0);
  }
  return r.status ?? 1;
}

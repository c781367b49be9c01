// Runs one of the project's TypeScript entry points (a CLI: tools/cli.ts, tools/rpm-xylem/main.ts)
// in a child Node through tsx, collecting its output: the layering and compose CLI tests drive
// the real commands this way. A SIGKILLed child (XYLEM_CRASH_AT) reports status 137.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './interop.ts';

export interface TsRunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs ROOT/`entry` with `args` in `cwd`; `env` is added to this process's environment. */
export function runTs(entry: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<TsRunResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, entry), ...args], { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => resolve({ status: code ?? (signal === 'SIGKILL' ? 137 : 1), stdout, stderr }));
  });
}

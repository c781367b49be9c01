// Shared plumbing for the interop tests: finding the real `ostree` (the oracle), a private build of
// the xylem CLI, running either tool, and temporary directories that are removed afterwards.
// When `ostree` is missing the suites are skipped with a loud message, or fail when CI=true.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Path of the real ostree CLI, or null when it is not installed. */
export const OSTREE: string | null = findOstree();

function findOstree(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v ostree'], { encoding: 'utf8' });
  const p = r.status === 0 ? r.stdout.trim() : '';
  if (!p || p.includes('ostree-shim')) return existsSync('/usr/bin/ostree') ? '/usr/bin/ostree' : null;
  return p;
}

/**
 * `describe` for suites that need the real ostree: without it they are skipped with a warning,
 * or fail when CI=true (so a broken CI image cannot pass silently).
 */
export function describeInterop(name: string, fn: () => void): void {
  if (OSTREE) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`${name}: the real 'ostree' CLI is required (CI=true) but was not found`);
    });
    return;
  }
  console.warn(`\n!!! ${name}: SKIPPED — the real 'ostree' CLI is not installed; interop is untested !!!\n`);
  describe.skip(name, fn);
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

function toResult(r: SpawnSyncReturns<string>, what: string): RunResult {
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const SPAWN_OPTS = { encoding: 'utf8' as const, maxBuffer: 256 * 1024 * 1024 };

/** Runs a command; the environment has no OSTREE_REPO and fixed SOURCE_DATE_EPOCH unset. */
function runCmd(cmd: string, args: string[], cwd?: string): RunResult {
  const env = { ...process.env };
  delete env.OSTREE_REPO;
  delete env.SOURCE_DATE_EPOCH;
  return toResult(spawnSync(cmd, args, { ...SPAWN_OPTS, cwd, env }), `${cmd} ${args.join(' ')}`);
}

/** Runs the real ostree. */
export function ostree(args: string[], cwd?: string): RunResult {
  if (!OSTREE) throw new Error('ostree is not installed');
  return runCmd(OSTREE, args, cwd);
}

let cliPath: string | null = null;
let cliDir: string | null = null;

/**
 * Builds the xylem CLI from the current sources into a private directory (so concurrent test
 * files and a stale dist/ cannot interfere); call from beforeAll, pair with disposeCli().
 */
export function buildCli(): string {
  if (cliPath) return cliPath;
  // Inside the checkout (tmp/ is git-ignored) so that the bundle resolves node_modules (the
  // optional xattr addon): built elsewhere it would silently run without xattr support.
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  cliDir = mkdtempSync(join(ROOT, 'tmp', 'interop-cli-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'build-cli.mjs'), '--outdir', cliDir], { ...SPAWN_OPTS, cwd: ROOT });
  if (r.status !== 0) throw new Error(`building the xylem CLI failed:\n${r.stdout}\n${r.stderr}`);
  cliPath = join(cliDir, 'xylem.mjs');
  // Also when a worker ends without running afterAll (timeouts, filtered runs).
  const dir = cliDir;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return cliPath;
}

export function disposeCli(): void {
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
  cliDir = null;
  cliPath = null;
}

/** Runs the xylem CLI (built by buildCli()). */
export function xylem(args: string[], cwd?: string): RunResult {
  if (!cliPath) throw new Error('buildCli() has not been called');
  return runCmd(process.execPath, [cliPath, ...args], cwd);
}

/** Throws with the tool's stderr unless it exited 0; returns stdout. */
export function ok(r: RunResult, what = 'command'): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stderr}${r.stdout ? `\nstdout:\n${r.stdout}` : ''}`);
  return r.stdout;
}

export type Tool = 'ostree' | 'xylem';

/** Runs one of the two tools by name. */
export function tool(t: Tool, args: string[], cwd?: string): RunResult {
  return t === 'ostree' ? ostree(args, cwd) : xylem(args, cwd);
}

/** Runs a tool and returns its trimmed stdout, failing on a non-zero exit. */
export function run(t: Tool, args: string[], cwd?: string): string {
  return ok(tool(t, args, cwd), `${t} ${args.join(' ')}`).trim();
}

/** A temporary directory that is removed by cleanup(). */
export class TempDir {
  readonly path: string;
  constructor(prefix = 'xylem-interop-') {
    this.path = mkdtempSync(join(tmpdir(), prefix));
  }
  join(...parts: string[]): string {
    return join(this.path, ...parts);
  }
  cleanup(): void {
    removeTree(this.path);
  }
}

/**
 * rm -rf for test folders. Checkouts may contain 0700 or read-only directories (we are root, so
 * that is fine) and deployment roots may carry the immutable flag (ostree and xylem seal them).
 */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    spawnSync('chattr', ['-R', '-f', '-i', path]);
    rmSync(path, { recursive: true, force: true });
  }
}

/** Runs a shell utility (tar, setfattr, …) and fails loudly on error. */
export function sh(cmd: string, args: string[], cwd?: string): string {
  return ok(runCmd(cmd, args, cwd), `${cmd} ${args.join(' ')}`);
}

/** Repo modes exercised by the interop suites. */
export const MODES = ['archive', 'bare-user', 'bare-user-only', 'bare'] as const;
export type Mode = (typeof MODES)[number];

/** Creates a repository with the given tool. */
export function initRepo(t: Tool, path: string, mode: Mode): string {
  run(t, [`--repo=${path}`, 'init', `--mode=${mode}`]);
  return path;
}

/** `ostree fsck` (the oracle) on a repo; returns its output, throwing when it reports errors. */
export function ostreeFsck(repo: string): string {
  const r = ostree([`--repo=${repo}`, 'fsck']);
  if (r.status !== 0 || /error|corrupt/i.test(r.stderr)) throw new Error(`ostree fsck ${repo} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

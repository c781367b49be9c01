// Process plumbing for the crash campaign: running commands (with a deadline), running a command
// "booted" into a deployment (a private mount + pid namespace, as test/sysroot/booted.ts does, but
// with the command a child of the namespace's init so that its own SIGKILL is not ignored), and a
// small seeded random generator so every campaign run can be repeated, and a static HTTP server.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** mulberry32: a seeded generator of floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// no-fsfreeze: the booted runs share the host's root filesystem, which must never be frozen
const BASE_ENV = { OSTREE_SYSROOT_DEBUG: 'mutable-deployments,no-fsfreeze' };

/** The environment our children get: no OSTREE_REPO, deployments left mutable, no stray crash vars. */
export function childEnv(extra = {}) {
  const env = { ...process.env, ...BASE_ENV, ...extra };
  delete env.OSTREE_REPO;
  delete env.SOURCE_DATE_EPOCH;
  if (!('XYLEM_CRASH_AT' in extra)) delete env.XYLEM_CRASH_AT;
  if (!('XYLEM_CRASH_COUNT' in extra)) delete env.XYLEM_CRASH_COUNT;
  return env;
}

/** Runs a command to completion (synchronously); throws unless it exits 0. Returns stdout. */
export function must(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: childEnv(), ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Runs a command asynchronously. `killAfterMs` SIGKILLs it from here after that long (a kill at a
 * random time); `deadlineMs` fails a hang. Resolves { status, signal, stdout, stderr, ms, hung }.
 */
export function exec(cmd, args, { env = childEnv(), killAfterMs = null, deadlineMs = 180_000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout = (stdout + d).slice(-65536)));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-65536)));
    const timers = [];
    if (killAfterMs !== null) timers.push(setTimeout(() => child.kill('SIGKILL'), killAfterMs));
    timers.push(
      setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, deadlineMs),
    );
    child.on('error', (e) => {
      timers.forEach(clearTimeout);
      reject(e);
    });
    child.on('close', (status, signal) => {
      timers.forEach(clearTimeout);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - t0, hung });
    });
  });
}

/** True when a run ended by SIGKILL (directly, or as 128+9 from a shell in between). */
export function wasKilled(r) {
  return r.signal === 'SIGKILL' || r.status === 137;
}

// tools/crash/run-booted.sh does the mounts and runs the command as a child of the namespace's init.
const BOOTED_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'run-booted.sh');

/** Null when booted emulation works here (root, unshare with mount and pid namespaces), else why not. */
export function bootedSupport() {
  if (process.getuid?.() !== 0) return 'needs root';
  const r = spawnSync('unshare', ['-m', '-p', '-f', '--kill-child', 'true'], { encoding: 'utf8' });
  if (r.status !== 0) return `unshare -m -p -f fails: ${r.stderr || r.error?.message}`;
  return null;
}

/**
 * The argv (for exec) that runs `argv` booted into deployment folder `dep` of `sysroot`, with
 * `runDir` as /run and the checkout `root` at /mnt. `env` is the whole environment inside.
 */
export function bootedArgv(root, sysroot, dep, runDir, argv, env) {
  mkdirSync(runDir, { recursive: true });
  if (!existsSync(join(runDir, 'ostree-booted'))) writeFileSync(join(runDir, 'ostree-booted'), '');
  const e = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', ...BASE_ENV, ...env };
  return [
    'unshare',
    ['-m', '-p', '-f', '--kill-child', '--propagation', 'private', 'sh', BOOTED_SCRIPT, sysroot, dep, runDir, root, 'env', '-i', ...Object.entries(e).map(([k, v]) => `${k}=${v}`), ...argv],
  ];
}

/** `/usr/bin/node /mnt/<cli>`: the CLI as seen from inside a booted namespace. */
export function cliInside(root, cli) {
  return ['/usr/bin/node', join('/mnt', relative(root, cli))];
}

/**
 * Serves `dir` over HTTP with `xylem trivial-httpd` on 127.0.0.1 (a port it picks, written to
 * `portFile`). Resolves { url, stop, child } once it listens; `stop()` ends it.
 */
export async function startHttpd(cli, dir, portFile) {
  const child = spawn(process.execPath, [cli, 'trivial-httpd', `--port-file=${portFile}`, dir], { stdio: 'ignore', env: childEnv() });
  for (let i = 0; !existsSync(portFile); i++) {
    if (i > 200 || child.exitCode !== null) {
      if (child.exitCode === null) child.kill('SIGTERM');
      throw new Error(`trivial-httpd did not start for ${dir}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  return { url: `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`, stop, child };
}

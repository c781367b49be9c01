// The script sandbox of the posix hosts: runs a program inside a root being assembled with
// bubblewrap, using rpm-ostree's flag set for RPM scriptlets (rust/src/bwrap.rs and
// rpmostree-scripts.cxx): a tmpfs `/` holding only the root's /usr, /etc and /var, its own /dev,
// /proc, /tmp and /run (with an empty /run/ostree-booted), /var read-only with a tmpfs /var/tmp,
// /usr/share/rpm masked, private pid/uts/ipc/cgroup/network namespaces, the capability set cut to
// rpm-ostree's ten, no inherited environment. /usr and /etc are writable through
// `rofiles-fuse --copyup` (ostree's): a file with several hardlinks (the package cache's) is copied
// before it is changed. The script text is a regular file outside the root passed as fd 5
// (`/proc/self/fd/5`), as rpm-ostree's sealed memfd; stdout and stderr are merged, in order.

import type * as ChildProcess from 'node:child_process';
import type * as Fs from 'node:fs';
import type * as Os from 'node:os';
import type { SandboxBind, SandboxHost, SandboxRequest, SandboxResult, SandboxSession } from '../../src/host.ts';
import { lazyBuiltin } from './builtin.ts';

const childProcess = lazyBuiltin<typeof ChildProcess>('node:child_process');
const fs = lazyBuiltin<typeof Fs>('node:fs');
const os = lazyBuiltin<typeof Os>('node:os');

/** Capabilities scriptlets keep (rpm-ostree's subset of Docker's default set). */
export const SCRIPT_CAPABILITIES: readonly string[] = [
  'cap_chown',
  'cap_dac_override',
  'cap_fowner',
  'cap_fsetid',
  'cap_kill',
  'cap_setgid',
  'cap_setuid',
  'cap_setpcap',
  'cap_sys_chroot',
  'cap_setfcap',
];

/** Parts of /sys scripts may read. */
const SYS_RO_BINDS = ['/sys/block', '/sys/bus', '/sys/class', '/sys/dev', '/sys/devices'];
/** Top-level names that are links into /usr on a merged-/usr root (or real directories). */
const USR_LINKS = ['lib', 'lib32', 'lib64', 'bin', 'sbin'];
const MAX_ARGV = 4096;
const MAX_ARG_BYTES = 1 << 20;

class SandboxError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'SandboxError';
    this.code = code;
  }
}

/** Finds an executable on the caller's PATH (plus the usual system directories). */
function findProgram(name: string, pathVar: string | undefined): string | null {
  const dirs = [...(pathVar ?? '').split(':').filter((d) => d.startsWith('/')), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = `${d}/${name}`;
    try {
      fs().accessSync(p, fs().constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function checkInsidePath(p: string, what: string): void {
  if (typeof p !== 'string' || !p.startsWith('/') || p.includes('\0') || p.split('/').some((c) => c === '..'))
    throw new SandboxError(`sandbox: ${what} ${JSON.stringify(p)} must be an absolute path without '..'`, 'EINVAL');
}

function validate(req: SandboxRequest): void {
  if (req === null || typeof req !== 'object') throw new SandboxError('sandbox: a request object is required', 'EINVAL');
  if (typeof req.root !== 'string' || !req.root.startsWith('/')) throw new SandboxError('sandbox: root must be an absolute path', 'EINVAL');
  if (!Array.isArray(req.argv) || req.argv.length === 0 || req.argv.length > MAX_ARGV) throw new SandboxError('sandbox: argv must hold 1 to 4096 strings', 'EINVAL');
  let bytes = 0;
  for (const a of req.argv) {
    if (typeof a !== 'string' || a.includes('\0')) throw new SandboxError('sandbox: argv entries must be strings without NUL', 'EINVAL');
    bytes += a.length;
  }
  if (bytes > MAX_ARG_BYTES) throw new SandboxError('sandbox: argv is too long', 'E2BIG');
  for (const [k, v] of Object.entries(req.env ?? {}))
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || typeof v !== 'string' || v.includes('\0')) throw new SandboxError(`sandbox: bad environment variable ${JSON.stringify(k)}`, 'EINVAL');
  if (req.mutability !== 'copyup' && req.mutability !== 'readonly') throw new SandboxError("sandbox: mutability must be 'copyup' or 'readonly'", 'EINVAL');
  if (!Number.isFinite(req.timeoutMs) || req.timeoutMs <= 0) throw new SandboxError('sandbox: timeoutMs must be a positive number', 'EINVAL');
  if (!Number.isInteger(req.maxOutputBytes) || req.maxOutputBytes < 0) throw new SandboxError('sandbox: maxOutputBytes must be a non-negative integer', 'EINVAL');
  for (const b of req.binds ?? []) {
    if (typeof b.source !== 'string' || !b.source.startsWith('/')) throw new SandboxError('sandbox: bind sources must be absolute host paths', 'EINVAL');
    checkInsidePath(b.dest, 'bind destination');
    if (b.dest === '/' || b.dest === '/proc' || b.dest.startsWith('/proc/') || b.dest === '/dev' || b.dest.startsWith('/dev/'))
      throw new SandboxError(`sandbox: cannot bind over ${b.dest}`, 'EINVAL');
  }
}

function lstatKind(p: string): 'dir' | 'symlink' | 'other' | null {
  try {
    const st = fs().lstatSync(p);
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return null;
  }
}

/** Spawns a helper and resolves with its exit code (stderr captured for errors). */
function runHelper(cmd: string, args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = childProcess().spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    child.on('error', (e) => resolve({ code: -1, stderr: String(e) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

interface Mounts {
  dirs: string[];
}

/** Mounts `root/name` through rofiles-fuse --copyup at a fresh directory under `work`. */
async function mountCopyup(rofiles: string, root: string, name: string, work: string, mounts: Mounts): Promise<string> {
  const mnt = `${work}/rofiles-${name}`;
  fs().mkdirSync(mnt, { mode: 0o700 });
  const r = await runHelper(rofiles, ['--copyup', name, mnt], root);
  if (r.code !== 0) throw new SandboxError(`sandbox: rofiles-fuse --copyup ${name} failed (${r.code}): ${r.stderr.trim()}`, 'EIO');
  mounts.dirs.push(mnt);
  return mnt;
}

async function unmountAll(fusermount: string | null, mounts: Mounts): Promise<void> {
  for (const mnt of mounts.dirs.reverse()) {
    if (fusermount) {
      const r = await runHelper(fusermount, ['-u', mnt], '/');
      if (r.code !== 0) await runHelper(fusermount, ['-u', '-z', mnt], '/');
    }
    try {
      fs().rmdirSync(mnt);
    } catch {
      /* left behind if still mounted */
    }
  }
}

/** The bwrap arguments for `req`, with `/usr` and `/etc` sources already decided. */
export function bwrapArgs(req: SandboxRequest, sources: { usr: string | null; etc: string | null; dirs: Record<string, string> }, emptyDir: string, isRoot: boolean): string[] {
  const a = ['--dev', '/dev', '--proc', '/proc', '--dir', '/run', '--dir', '/tmp', '--chdir', '/', '--die-with-parent'];
  a.push('--unshare-pid', '--unshare-uts', '--unshare-ipc', '--unshare-cgroup-try', '--unshare-net');
  for (const d of SYS_RO_BINDS) a.push('--ro-bind-try', d, d);
  if (isRoot) {
    a.push('--cap-drop', 'ALL');
    for (const c of SCRIPT_CAPABILITIES) a.push('--cap-add', c);
  }
  const rw = req.mutability === 'copyup' ? '--bind' : '--ro-bind';
  for (const name of USR_LINKS) {
    const kind = lstatKind(`${req.root}/${name}`);
    if (kind === 'symlink') a.push('--symlink', `usr/${name}`, `/${name}`);
    else if (kind === 'dir') a.push(rw, sources.dirs[name] ?? `${req.root}/${name}`, `/${name}`);
  }
  if (sources.usr) a.push(rw, sources.usr, '/usr');
  if (sources.etc) a.push(rw, sources.etc, '/etc');
  if (lstatKind(`${req.root}/var`) === 'dir') {
    a.push('--ro-bind', `${req.root}/var`, '/var');
    a.push('--tmpfs', '/var/tmp');
  }
  if (lstatKind(`${req.root}/usr/lib/opt`) === 'dir') a.push('--symlink', 'usr/lib/opt', '/opt');
  if (lstatKind(`${req.root}/usr/share/rpm`) === 'dir') a.push('--ro-bind', emptyDir, '/usr/share/rpm');
  a.push('--tmpfs', '/run', '--ro-bind-data', '3', '/run/ostree-booted');
  for (const b of req.binds ?? []) a.push(b.writable ? '--bind' : '--ro-bind', b.source, b.dest);
  return a;
}

/** Creates mount points a read-only /var needs (var/tmp, and those of binds under /var). */
function prepareRoot(req: SandboxRequest): void {
  const root = req.root;
  if (lstatKind(`${root}/var`) !== 'dir') return;
  if (lstatKind(`${root}/var/tmp`) === null) {
    fs().mkdirSync(`${root}/var/tmp`);
    fs().chmodSync(`${root}/var/tmp`, 0o1777);
  }
  for (const b of req.binds ?? []) {
    if (!b.dest.startsWith('/var/')) continue;
    // Walk down refusing symlinks, so a hostile root cannot redirect the mkdir outside itself.
    let cur = root;
    for (const c of b.dest.split('/').filter(Boolean)) {
      cur = `${cur}/${c}`;
      const k = lstatKind(cur);
      if (k === null) fs().mkdirSync(cur, { mode: 0o755 });
      else if (k !== 'dir') throw new SandboxError(`sandbox: ${cur} is not a directory (bind destination ${b.dest})`, 'ENOTDIR');
    }
  }
}

async function pumpStdin(stdin: NodeJS.WritableStream, data: Uint8Array | AsyncIterable<Uint8Array> | undefined): Promise<void> {
  stdin.on('error', () => undefined); // the program may exit without reading (EPIPE)
  if (data === undefined) return void stdin.end();
  if (data instanceof Uint8Array) return void stdin.end(data);
  try {
    for await (const chunk of data) {
      if (!stdin.write(chunk)) await new Promise<void>((r) => stdin.once('drain', () => r()).once('close', () => r()));
      if ((stdin as unknown as { destroyed?: boolean }).destroyed) break;
    }
  } finally {
    stdin.end();
  }
}

interface Tools {
  bwrap: string;
  rofiles: string | null;
  fusermount: string | null;
  isRoot: boolean;
}

/** Per-root set-up shared by runs: a scratch dir and the copy-up mounts of /usr, /etc, …. */
interface Prepared {
  root: string;
  mutability: SandboxRequest['mutability'];
  work: string;
  emptyDir: string;
  mounts: Mounts;
  sources: { usr: string | null; etc: string | null; dirs: Record<string, string> };
}

function findTools(hostEnv: Record<string, string | undefined>, mutability: SandboxRequest['mutability']): Tools {
  const bwrap = findProgram('bwrap', hostEnv.PATH);
  if (!bwrap) throw new SandboxError('sandbox: bwrap (bubblewrap) not found', 'ENOSYS');
  const rofiles = mutability === 'copyup' ? findProgram('rofiles-fuse', hostEnv.PATH) : null;
  if (mutability === 'copyup' && !rofiles) throw new SandboxError('sandbox: rofiles-fuse (ostree) not found; needed to protect hardlinked files', 'ENOSYS');
  const fusermount = findProgram('fusermount', hostEnv.PATH) ?? findProgram('fusermount3', hostEnv.PATH);
  return { bwrap, rofiles, fusermount, isRoot: typeof process.getuid === 'function' && process.getuid() === 0 };
}

async function prepare(root: string, mutability: SandboxRequest['mutability'], tools: Tools): Promise<Prepared> {
  if (lstatKind(root) !== 'dir') throw new SandboxError(`sandbox: root ${root} is not a directory`, 'ENOTDIR');
  const work = fs().mkdtempSync(`${os().tmpdir()}/xylem-sandbox-`);
  const p: Prepared = { root, mutability, work, emptyDir: `${work}/empty`, mounts: { dirs: [] }, sources: { usr: null, etc: null, dirs: {} } };
  try {
    fs().mkdirSync(p.emptyDir, { mode: 0o755 });
    for (const name of ['usr', 'etc', ...USR_LINKS]) {
      if (lstatKind(`${root}/${name}`) !== 'dir') continue;
      const src = mutability === 'copyup' && tools.rofiles ? await mountCopyup(tools.rofiles, root, name, work, p.mounts) : `${root}/${name}`;
      if (name === 'usr') p.sources.usr = src;
      else if (name === 'etc') p.sources.etc = src;
      else p.sources.dirs[name] = src;
    }
  } catch (e) {
    await release(p, tools);
    throw e;
  }
  return p;
}

async function release(p: Prepared, tools: Tools): Promise<void> {
  await unmountAll(tools.fusermount, p.mounts);
  fs().rmSync(p.work, { recursive: true, force: true });
}

async function runPrepared(p: Prepared, req: SandboxRequest, tools: Tools): Promise<SandboxResult> {
  prepareRoot(req);
  const fds: number[] = [];
  try {
    const devnull = fs().openSync('/dev/null', 'r');
    fds.push(devnull);
    let scriptFd: number | 'ignore' = 'ignore';
    if (req.script) {
      const path = `${p.work}/script-${process.hrtime.bigint()}`;
      fs().writeFileSync(path, req.script, { mode: 0o400 });
      scriptFd = fs().openSync(path, 'r');
      fds.push(scriptFd);
      fs().unlinkSync(path);
    }
    const args = bwrapArgs(req, p.sources, p.emptyDir, tools.isRoot);
    return await spawnConfined(tools.bwrap, [...args, '--', ...req.argv], req, devnull, scriptFd);
  } finally {
    for (const fd of fds) fs().closeSync(fd);
  }
}

/** Creates the bwrap sandbox. `hostEnv` is the caller's environment (only PATH is read, to find tools). */
export function createBwrapSandbox(hostEnv: Record<string, string | undefined> = {}): SandboxHost {
  return {
    name: 'bwrap',
    async run(req: SandboxRequest): Promise<SandboxResult> {
      validate(req);
      const tools = findTools(hostEnv, req.mutability);
      const p = await prepare(req.root, req.mutability, tools);
      try {
        return await runPrepared(p, req, tools);
      } finally {
        await release(p, tools);
      }
    },
    async open(root: string, mutability: SandboxRequest['mutability']): Promise<SandboxSession> {
      if (typeof root !== 'string' || !root.startsWith('/')) throw new SandboxError('sandbox: root must be an absolute path', 'EINVAL');
      if (mutability !== 'copyup' && mutability !== 'readonly') throw new SandboxError("sandbox: mutability must be 'copyup' or 'readonly'", 'EINVAL');
      const tools = findTools(hostEnv, mutability);
      const p = await prepare(root, mutability, tools);
      let closed = false;
      let running = 0;
      return {
        async run(req: SandboxRequest): Promise<SandboxResult> {
          if (closed) throw new SandboxError('sandbox: session is closed', 'EINVAL');
          validate(req);
          if (req.root !== root || req.mutability !== mutability) throw new SandboxError('sandbox: a session runs requests for its own root and mutability only', 'EINVAL');
          running++;
          try {
            return await runPrepared(p, req, tools);
          } finally {
            running--;
          }
        },
        async close(): Promise<void> {
          if (closed) return;
          closed = true;
          if (running > 0) throw new SandboxError('sandbox: close() while a run is in progress', 'EBUSY');
          await release(p, tools);
        },
      };
    },
  };
}

function spawnConfined(bwrap: string, args: string[], req: SandboxRequest, devnull: number, scriptFd: number | 'ignore'): Promise<SandboxResult> {
  return new Promise((resolve, reject) => {
    // The host's sh points bwrap's stderr at its stdout, so the output keeps its order.
    const child = childProcess().spawn('/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', bwrap, ...args], {
      env: { ...req.env },
      stdio: ['pipe', 'pipe', 'pipe', devnull, 'ignore', scriptFd],
      detached: true,
    });
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    const collect = (d: Buffer): void => {
      const room = req.maxOutputBytes - kept;
      if (room <= 0) {
        truncated = true;
        return;
      }
      const part = d.length > room ? d.subarray(0, room) : d;
      if (part.length < d.length) truncated = true;
      chunks.push(part);
      kept += part.length;
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, req.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // A failing stdin source (e.g. a file-trigger walk) must fail the run, not truncate its input.
    let stdinError: unknown = null;
    void pumpStdin(child.stdin!, req.stdin).catch((e) => {
      stdinError = e;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (stdinError) return reject(stdinError);
      const out = Buffer.concat(chunks);
      resolve({
        exitCode: code,
        signal: signal ?? null,
        timedOut,
        output: new Uint8Array(out.buffer, out.byteOffset, out.length),
        outputTruncated: truncated,
      });
    });
  });
}

export type { SandboxBind };

// The lock capability (Host.locks) and the counted lock table over it (src/util/lock-table.ts,
// src/repo/lock.ts): shared holders coexist, exclusive excludes, a hold of one process nests and
// upgrades, waiting ends when the holder goes, and a timeout names the repo and its holder. The
// posix host is checked against locks taken by another process (python3's fcntl, the same OFD
// lock libostree takes) and against the real `ostree prune`; the memory host runs the same
// contract within one process. The sysroot lock: held exclusive from load, waited for, nested
// under a holder of the same process, unlinked on release.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { createMemoryHost } from '../../runtimes/memory/index.ts';
import { createPosixLocks } from '../../runtimes/posix/locks.ts';
import type { Host } from '../../src/host.ts';
import { Repo } from '../../src/repo/repo.ts';
import { popRepoLock, pushRepoLock, repoLockPath, withRepoLock } from '../../src/repo/lock.ts';
import { LockTimeoutError, lockState } from '../../src/util/lock-table.ts';
import { Sysroot } from '../../src/sysroot/sysroot.ts';
import { lockSysroot, unlockSysroot } from '../../src/sysroot/lock.ts';
import { OSTREE, ostree } from '../helpers/interop.ts';

const PYTHON = '/usr/bin/python3';

/** Another process holding an OFD lock of `kind` on `path` until killed. */
async function holdInOtherProcess(path: string, kind: 'shared' | 'exclusive'): Promise<ChildProcess> {
  const py = `
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
t = fcntl.F_RDLCK if sys.argv[2] == "shared" else fcntl.F_WRLCK
fcntl.fcntl(fd, fcntl.F_OFD_SETLKW, struct.pack("hhqqi4x", t, 0, 0, 0, 0))
print("locked", flush=True)
time.sleep(600)
`;
  const c = spawn(PYTHON, ['-c', py, path, kind], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    c.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    c.on('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return c;
}

function stop(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  });
}

interface Flavour {
  name: string;
  host: () => Host;
  dir: () => string;
}

const tmpDirs: string[] = [];
const flavours: Flavour[] = [
  {
    name: 'posix host',
    host: () => createNodeHost(),
    dir: () => {
      const d = mkdtempSync(join(tmpdir(), 'xylem-lock-'));
      tmpDirs.push(d);
      return d;
    },
  },
  { name: 'memory host', host: () => createMemoryHost(), dir: () => '/' },
];
afterAll(() => tmpDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

for (const f of flavours) {
  describe(`Host.locks contract: ${f.name}`, () => {
    it('shared with shared coexist; exclusive waits for both to go', async () => {
      const host = f.host();
      const p = join(f.dir(), 'a.lock');
      const a = await host.locks!.tryLock(p, 'shared');
      const b = await host.locks!.tryLock(p, 'shared');
      expect(a).not.toBeNull();
      expect(b).not.toBeNull();
      expect(await host.locks!.tryLock(p, 'exclusive')).toBeNull();
      await a!.release();
      expect(await host.locks!.tryLock(p, 'exclusive')).toBeNull();
      await b!.release();
      const x = await host.locks!.tryLock(p, 'exclusive');
      expect(x).not.toBeNull();
      expect(await host.locks!.tryLock(p, 'shared')).toBeNull();
      await x!.release();
    });

    it('upgrades and downgrades in place; release with unlink removes the file', async () => {
      const host = f.host();
      const p = join(f.dir(), 'b.lock');
      const a = await host.locks!.tryLock(p, 'shared', { mode: 0o600 });
      const b = await host.locks!.tryLock(p, 'shared');
      expect(await a!.change('exclusive')).toBe(false); // b still holds it shared
      await b!.release();
      expect(await a!.change('exclusive')).toBe(true);
      expect(await host.locks!.tryLock(p, 'shared')).toBeNull();
      expect(await a!.change('shared')).toBe(true);
      const c = await host.locks!.tryLock(p, 'shared');
      expect(c).not.toBeNull();
      await c!.release();
      expect((await host.fs.lstat(p))?.mode! & 0o777).toBe(0o600);
      await a!.release({ unlink: true });
      expect(await host.fs.lstat(p)).toBeNull();
    });
  });
}

describe('posix lock helper on a python3 without the json module (Debian python3-minimal)', () => {
  it('locks, conflicts, reports holders and unlinks as with the full python3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xylem-nojson-'));
    tmpDirs.push(dir);
    // a json package that cannot be imported shadows the standard one for the helper
    mkdirSync(join(dir, 'py/json'), { recursive: true });
    writeFileSync(join(dir, 'py/json/__init__.py'), 'raise ImportError("no json in python3-minimal")\n');
    const saved = process.env.PYTHONPATH;
    process.env.PYTHONPATH = join(dir, 'py');
    const minimal = createPosixLocks();
    const p = join(dir, 'lock \u00e4\u{1F600}');
    let held;
    try {
      held = await minimal.tryLock(p, 'exclusive', { relockIfUnlinked: true });
    } finally {
      if (saved === undefined) delete process.env.PYTHONPATH;
      else process.env.PYTHONPATH = saved;
    }
    expect(held).not.toBeNull();
    const full = createPosixLocks();
    expect(await full.tryLock(p, 'shared')).toBeNull();
    expect(await held!.change('shared')).toBe(true);
    const other = await full.tryLock(p, 'shared');
    expect(other).not.toBeNull();
    expect((await minimal.describeHolders!(p)).join('\n')).toMatch(/shared/);
    await other!.release();
    await held!.release({ unlink: true });
    expect(existsSync(p)).toBe(false);
  });
});

describe('repo lock (libostree lock stack semantics)', () => {
  let dir = '';
  let host: Host;
  let repo: Repo;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-repolock-'));
    tmpDirs.push(dir);
    host = createNodeHost();
    repo = await Repo.init(host, join(dir, 'repo'), { mode: 'archive' });
  });

  it('nests within the process: shared, then exclusive upgrade, back to shared, then unlocked', async () => {
    const path = repoLockPath(repo);
    await pushRepoLock(repo, 'shared');
    await pushRepoLock(repo, 'shared');
    await pushRepoLock(repo, 'exclusive');
    expect(await lockState(host, path)).toEqual({ shared: 2, exclusive: 1, locked: true });
    // another Repo object of this process on the same repo shares the hold
    const again = await Repo.open(host, join(dir, 'repo'));
    await withRepoLock(again, 'exclusive', async () => {
      expect((await lockState(host, path)).exclusive).toBe(2);
    });
    // while exclusive, another process cannot take it even shared
    expect(await host.locks!.tryLock(path, 'shared')).toBeNull();
    await popRepoLock(repo, 'exclusive');
    const other = await host.locks!.tryLock(path, 'shared');
    expect(other).not.toBeNull(); // downgraded to shared
    await other!.release();
    await popRepoLock(repo, 'shared');
    await popRepoLock(repo, 'shared');
    expect(await lockState(host, path)).toEqual({ shared: 0, exclusive: 0, locked: false });
    const x = await host.locks!.tryLock(path, 'exclusive');
    expect(x).not.toBeNull(); // nothing left held
    // created as libostree creates it: 0660 before the umask
    expect(statSync(path).mode & 0o777).toBe(0o660 & ~process.umask());
    await x!.release();
    await expect(popRepoLock(repo, 'shared')).rejects.toThrow(/none has been taken/);
  });

  it('shared with another process is fine; exclusive waits for it to go', async () => {
    const holder = await holdInOtherProcess(repoLockPath(repo), 'shared');
    try {
      await withRepoLock(repo, 'shared', async () => undefined);
      const t0 = Date.now();
      setTimeout(() => void stop(holder), 700);
      await withRepoLock(repo, 'exclusive', async () => undefined);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    } finally {
      await stop(holder);
    }
  });

  it('times out after core.lock-timeout-secs, naming the repo and the holder', async () => {
    const r2 = await Repo.init(host, join(dir, 'repo2'), { mode: 'archive' });
    const kf = r2.config;
    kf.set('core', 'lock-timeout-secs', '1');
    await r2.writeConfig(kf);
    const holder = await holdInOtherProcess(repoLockPath(r2), 'shared');
    try {
      const t0 = Date.now();
      const err = await pushRepoLock(r2, 'exclusive').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LockTimeoutError);
      const msg = (err as Error).message;
      expect(msg).toContain(`Locking repo exclusive failed: ${r2.path}/.lock is held by`); // ostree's prefix
      expect(msg).toContain(`${r2.path}/.lock`);
      expect(msg).toContain(`pid ${holder.pid} (python3), shared`);
      expect(msg).toContain('core.lock-timeout-secs');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
      expect((await lockState(host, repoLockPath(r2))).locked).toBe(false);
    } finally {
      await stop(holder);
    }
  });

  it('without the helper (no python3) the host says ENOSYS and the engine goes on unlocked', async () => {
    const locks = createPosixLocks({ XYLEM_PYTHON: join(dir, 'no-such-python3') });
    await expect(locks.tryLock(join(dir, 'x.lock'), 'shared')).rejects.toMatchObject({ code: 'ENOSYS' });
    const h: Host = { ...host, locks };
    const r = await Repo.open(h, repo.path);
    await withRepoLock(r, 'exclusive', async () => {
      expect((await lockState(h, repoLockPath(r))).locked).toBe(false);
    });
  });

  it('core.locking=false takes no lock', async () => {
    const r3 = await Repo.init(host, join(dir, 'repo3'), { mode: 'archive' });
    const kf = r3.config;
    kf.set('core', 'locking', 'false');
    await r3.writeConfig(kf);
    const holder = await holdInOtherProcess(repoLockPath(r3), 'exclusive');
    try {
      await withRepoLock(r3, 'exclusive', async () => undefined);
    } finally {
      await stop(holder);
    }
  });

  it.skipIf(!OSTREE && process.env.CI !== 'true')('excludes the real ostree: its prune times out while we hold the lock shared', async () => {
    if (!OSTREE) throw new Error('the real ostree is required (CI=true)');
    const r4 = await Repo.init(host, join(dir, 'repo4'), { mode: 'archive' });
    const kf = r4.config;
    kf.set('core', 'lock-timeout-secs', '1');
    await r4.writeConfig(kf);
    await withRepoLock(r4, 'shared', async () => {
      const r = ostree([`--repo=${r4.path}`, 'prune', '--refs-only']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/Locking repo exclusive failed/);
    });
    const r = ostree([`--repo=${r4.path}`, 'prune', '--refs-only']);
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('sysroot lock (ostree_sysroot_lock)', () => {
  let dir = '';
  let host: Host;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-sysrootlock-'));
    tmpDirs.push(dir);
    host = createNodeHost();
    await Repo.init(host, join(dir, 'ostree/repo'), { mode: 'bare' });
  });
  const lockFile = () => join(dir, 'ostree/lock');

  it('load({ lock }) holds ostree/lock exclusive until unlock(), which removes the file', async () => {
    const s = await Sysroot.load(host, dir, { lock: true });
    expect(s.isLocked).toBe(true);
    expect(existsSync(lockFile())).toBe(true);
    expect((statSync(lockFile()).mode & 0o777).toString(8)).toBe('600');
    // another process cannot take it, even shared
    const probe = await holdAttempt(lockFile());
    expect(probe).toBe('busy');
    await s.unlock();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('waits for another process, saying so once', async () => {
    const holder = await holdInOtherProcess(lockFile(), 'exclusive');
    let waits = 0;
    try {
      setTimeout(() => void stop(holder), 600);
      const s = await Sysroot.load(host, dir, { lock: true, onLockWait: () => waits++ });
      expect(waits).toBe(1);
      await s.unlock();
    } finally {
      await stop(holder);
    }
  });

  it('a write under a lock this process already holds (rpm-xylem) neither waits nor keeps it', async () => {
    expect(await lockSysroot(host, dir)).toBe(true);
    const s = await Sysroot.load(host, dir);
    await s.ensureWriteLock();
    expect(s.isLocked).toBe(false);
    expect((await lockState(host, lockFile())).exclusive).toBe(1);
    await unlockSysroot(host, dir);
    expect((await lockState(host, lockFile())).locked).toBe(false);
    // without a holder, a write takes the lock and keeps it
    await s.ensureWriteLock();
    expect(s.isLocked).toBe(true);
    expect(await holdAttempt(lockFile())).toBe('busy');
    await s.unlock();
  });
});

/** Whether another process can take a shared OFD lock on `path` right now. */
function holdAttempt(path: string): Promise<'free' | 'busy'> {
  const py = `
import errno, fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
try:
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 0, 0, 0))
    print("free")
except OSError as e:
    print("busy" if e.errno in (errno.EAGAIN, errno.EACCES) else "error")
`;
  return new Promise((resolve, reject) => {
    const c = spawn(PYTHON, ['-c', py, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', () => (out.trim() === 'free' || out.trim() === 'busy' ? resolve(out.trim() as 'free' | 'busy') : reject(new Error(out))));
  });
}

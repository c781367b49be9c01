// Host.locks for Node, Bun and Deno: libostree-compatible file locks. ostree 2022.7 takes open
// file description (OFD) fcntl locks on a repo's `.lock` and a sysroot's `ostree/lock` (flock only
// where OFD locks are missing); flock and fcntl locks do not see each other on Linux, so we must
// take the same kind. None of the three runtimes can call fcntl(F_OFD_SETLK) (Deno's
// FsFile.lock is flock), so one small python3 helper per process, started on the first lock, does
// it: it keeps the locked files open and answers one JSON line per request on its stdin (python3-minimal,
// without the json module, is enough). When this
// process exits its stdin closes, the helper exits and the kernel drops every lock, so a crash
// never leaves a lock behind. Without python3 the host reports ENOSYS and the engine does not lock.

import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { HeldLock, LockHost, LockKind, TryLockOptions } from '../../src/host.ts';
import { lazyBuiltin } from './builtin.ts';

// node:child_process is loaded with the helper, on the first lock (read-only commands take none).
const childProcess = lazyBuiltin<typeof import('node:child_process')>('node:child_process');

const MARKER = 'xylem-lock-helper';

const HELPER = `
import errno, fcntl, os, struct, sys
try:
    from json import loads, dumps
except ImportError:
    # python3-minimal (Debian) has no json module: requests carry no true/false/null, so they
    # are Python literals; replies are built here
    from ast import literal_eval as loads
    def dumps(o):
        if isinstance(o, bool):
            return "true" if o else "false"
        if isinstance(o, int):
            return str(o)
        if isinstance(o, str):
            return '"' + "".join(c if 32 <= ord(c) < 127 and c not in '"\\\\' else "".join("\\\\u%04x" % u for u in struct.unpack("<%dH" % (len(c.encode("utf-16-le")) // 2), c.encode("utf-16-le"))) for c in o) + '"'
        if isinstance(o, list):
            return "[" + ",".join(dumps(x) for x in o) + "]"
        return "{" + ",".join(dumps(k) + ":" + dumps(v) for k, v in o.items()) + "}"
OFD = getattr(fcntl, "F_OFD_SETLK", None)
TYPES = {"sh": fcntl.F_RDLCK, "ex": fcntl.F_WRLCK, "un": fcntl.F_UNLCK}
FLOCK = {"sh": fcntl.LOCK_SH, "ex": fcntl.LOCK_EX, "un": fcntl.LOCK_UN}
def setlk(fd, kind):
    if OFD is not None:
        try:
            fcntl.fcntl(fd, OFD, struct.pack("hhqqi4x", TYPES[kind], 0, 0, 0, 0))
            return True
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                return False
            if e.errno != errno.EINVAL:
                raise
    try:
        fcntl.flock(fd, FLOCK[kind] | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            return False
        raise
def comm(pid):
    try:
        with open("/proc/%s/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"
def holders(path):
    st = os.stat(path)
    tag = "%02x:%02x:%d " % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir("/proc/%s/fdinfo" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                with open("/proc/%s/fdinfo/%s" % (pid, fd)) as f:
                    lines = [l for l in f if l.startswith("lock:") and tag in l]
            except OSError:
                continue
            for l in lines:
                kind = "exclusive" if " WRITE " in l else "shared"
                who = "pid %s (%s)" % (pid, comm(pid))
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        if b"${MARKER}" in f.read():
                            with open("/proc/%s/stat" % pid) as g:
                                ppid = g.read().rsplit(")", 1)[1].split()[1]
                            who = "pid %s (%s)" % (ppid, comm(ppid))
                except (OSError, IndexError):
                    pass
                out.append("%s, %s" % (who, kind))
    return sorted(set(out))
def handle(req):
    op = req["op"]
    if op == "lock":
        while True:
            fd = os.open(req["path"], os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY, req.get("mode", 0o644))
            try:
                got = setlk(fd, req["kind"])
            except BaseException:
                os.close(fd)
                raise
            if not got:
                os.close(fd)
                return {"busy": True}
            if req.get("relink") and os.fstat(fd).st_nlink == 0:
                os.close(fd)
                continue
            return {"h": fd}
    if op == "change":
        return {"ok": setlk(req["h"], req["kind"])}
    if op == "release":
        if req.get("unlink"):
            try:
                os.unlink(req["unlink"])
            except OSError:
                pass
        os.close(req["h"])
        return {"ok": True}
    if op == "holders":
        return {"holders": holders(req["path"])}
    raise ValueError("unknown op " + op)
for line in sys.stdin:
    req = loads(line)
    try:
        res = handle(req)
    except OSError as e:
        res = {"error": e.strerror or str(e), "code": errno.errorcode.get(e.errno, "EIO")}
    except Exception as e:
        res = {"error": str(e), "code": "EIO"}
    res["id"] = req["id"]
    sys.stdout.write(dumps(res) + "\\n")
    sys.stdout.flush()
`;

interface Reply {
  id: number;
  h?: number;
  busy?: boolean;
  ok?: boolean;
  holders?: string[];
  error?: string;
  code?: string;
}

function hostError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const KIND: Record<LockKind, string> = { shared: 'sh', exclusive: 'ex' };

/** The helper process and its pending requests; one per LockHost. */
class Helper {
  private child: ChildProcess | null = null;
  private pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private buf = '';
  /** Bumped when the helper dies: handles of an earlier generation hold nothing any more. */
  generation = 0;
  private unavailable: string | null = null;

  constructor(private readonly python: string) {}

  private start(): ChildProcess {
    if (this.unavailable) throw hostError(`File locking is unavailable: ${this.unavailable}`, 'ENOSYS');
    if (this.child) return this.child;
    let child: ChildProcess;
    try {
      child = childProcess().spawn(this.python, ['-c', HELPER, MARKER], { stdio: ['pipe', 'pipe', 'inherit'] });
    } catch (e) {
      // Deno without --allow-run refuses synchronously
      this.unavailable = `${this.python} cannot be started (${(e as Error).message})`;
      throw hostError(`File locking is unavailable: ${this.unavailable}`, 'ENOSYS');
    }
    this.child = child;
    this.generation++;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        let r: Reply;
        try {
          r = JSON.parse(line) as Reply;
        } catch {
          continue;
        }
        const p = this.pending.get(r.id);
        if (!p) continue;
        this.pending.delete(r.id);
        p.resolve(r);
        this.updateRef();
      }
    });
    const fail = (why: string, code: string) => {
      if (this.child !== child) return;
      this.child = null;
      this.buf = '';
      for (const p of this.pending.values()) p.reject(hostError(why, code));
      this.pending.clear();
    };
    // 'error' means the helper could not be started (missing python3, no permission to run it)
    child.on('error', (e) => {
      this.unavailable = `${this.python} cannot be started (${e.message})`;
      fail(`File locking is unavailable: ${this.unavailable}`, 'ENOSYS');
    });
    child.on('exit', (code, signal) => fail(`The lock helper (${this.python}) exited (${signal ?? code})`, 'EIO'));
    child.stdin!.on('error', () => undefined);
    this.updateRef();
    return child;
  }

  /** The helper never keeps the process alive by itself: only while an answer is awaited. */
  private updateRef(): void {
    const c = this.child;
    if (!c) return;
    const busy = this.pending.size > 0;
    try {
      if (busy) {
        c.ref();
        (c.stdout as unknown as { ref?: () => void }).ref?.();
      } else {
        c.unref();
        (c.stdout as unknown as { unref?: () => void }).unref?.();
        (c.stdin as unknown as { unref?: () => void }).unref?.();
      }
    } catch {
      // a runtime without ref/unref on pipes: the process exits when its work is done anyway
    }
  }

  async call(req: Record<string, unknown>): Promise<Reply> {
    const child = this.start();
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.updateRef();
    // booleans go as 0/1 and nulls are left out: without python's json module the helper reads requests as Python literals
    child.stdin!.write(`${JSON.stringify({ ...req, id }, (_k, v: unknown) => (typeof v === 'boolean' ? Number(v) : v === null ? undefined : v))}\n`);
    const r = await reply;
    if (r.error !== undefined) throw hostError(r.error, r.code ?? 'EIO');
    return r;
  }
}

/** A LockHost over the python3 helper (`python` defaults to /usr/bin/python3, then python3 on PATH). */
export function createPosixLocks(env: Record<string, string | undefined> = {}): LockHost {
  // The system interpreter first: version-manager shims (pyenv) cost a second per start.
  const python = env.XYLEM_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const helper = new Helper(python);
  return {
    async tryLock(path: string, kind: LockKind, opts: TryLockOptions = {}): Promise<HeldLock | null> {
      if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new TypeError('tryLock: invalid path');
      if (kind !== 'shared' && kind !== 'exclusive') throw new TypeError(`tryLock: invalid lock kind ${String(kind)}`);
      const r = await helper.call({ op: 'lock', path, kind: KIND[kind], mode: opts.mode ?? 0o644, relink: opts.relockIfUnlinked === true });
      if (r.busy) return null;
      const h = r.h!;
      const gen = helper.generation;
      let released = false;
      return {
        async change(next: LockKind): Promise<boolean> {
          if (released) throw hostError(`Lock on ${path} already released`, 'EBADF');
          if (gen !== helper.generation) throw hostError(`Lock on ${path} was lost: the lock helper exited`, 'EIO');
          return (await helper.call({ op: 'change', h, kind: KIND[next] })).ok === true;
        },
        async release(ro: { unlink?: boolean } = {}): Promise<void> {
          if (released) return;
          released = true;
          if (gen !== helper.generation) return;
          await helper.call({ op: 'release', h, unlink: ro.unlink ? path : null });
        },
      };
    },
    async describeHolders(path: string): Promise<string[]> {
      return (await helper.call({ op: 'holders', path })).holders ?? [];
    },
  };
}

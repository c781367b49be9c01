// The `posix` module rpm gives Lua scriptlets (rpmio/lposix.c semantics: success answers 0,
// failure answers nil, "<path>: <strerror>", errno), implemented over RootFs so every path stays
// inside the root being built. Process control (fork/exec/wait, setuid, kill…) is refused with an
// error naming the function: scriptlets run programs with rpm.execute, inside the sandbox.

import { XylemError } from '../../../util/errors.ts';
import type { LuaContext } from './context.ts';
import { applyModeString, fileTypeName, modeString } from './modes.ts';
import { Errno, toErrno } from './root-fs.ts';
import { MR, type MultiValue } from './values.ts';

const STAT_FIELDS = ['mode', 'ino', 'dev', 'nlink', 'uid', 'gid', 'size', 'atime', 'mtime', 'ctime', 'type', '_mode'] as const;

/** nil, "<info>: <strerror>", errno: lposix's pusherror. */
export function failure(e: unknown, info: string | null): MultiValue {
  const err = toErrno(e);
  return MR([undefined, info === null ? err.text : `${info}: ${err.text}`, err.errno]);
}

async function result(info: string | null, op: () => Promise<void>): Promise<MultiValue> {
  try {
    await op();
    return MR([0]);
  } catch (e) {
    if (e instanceof XylemError) throw e;
    return failure(e, info);
  }
}

function str(v: unknown, fn: string, n: number): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') throw new XylemError(`bad argument #${n} to '${fn}' (string expected, got ${v === undefined ? 'no value' : typeof v})`, 'EINVAL');
  return v;
}

/** Looks up a user or group id by name in the root's passwd/group files (nss-altfiles too). */
async function lookupId(ctx: LuaContext, file: 'passwd' | 'group', v: unknown): Promise<number> {
  if (v === undefined || v === null) return -1;
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') throw new XylemError(`bad argument to 'chown' (string or number expected)`, 'EINVAL');
  if (/^\d+$/.test(v)) return Number(v);
  const entries = await ctx.readIdFile(file);
  const e = entries.find((x) => x.name === v);
  return e ? e.id : -1;
}

const unsupported = (ctx: LuaContext, name: string, hint: string) => (): never => {
  throw new XylemError(`${ctx.scriptName}: posix.${name}() is not supported in a sandboxed scriptlet (${hint})`, 'ESCRIPT_UNSUPPORTED');
};

/** The JS side of the posix table (async functions; the Lua prelude awaits them). */
export function posixFunctions(ctx: LuaContext): Record<string, (...args: unknown[]) => unknown> {
  const rfs = ctx.rootFs;
  const fs = rfs.fs;
  return {
    async access(path: unknown, mode: unknown) {
      const p = str(path, 'access', 1);
      const m = mode === undefined ? 'f' : str(mode, 'access', 2);
      if (!/^[rwxf ]*$/.test(m)) throw new XylemError(`bad argument #2 to 'access' (unknown mode option)`, 'EINVAL');
      return result(p, async () => {
        const r = await rfs.resolve(p, true);
        if (!r.stat) throw new Errno('ENOENT');
        // The scriptlet runs as root: r and w are always granted, x needs one x bit on files.
        if (m.includes('x') && r.stat.kind !== 'dir' && (r.stat.mode & 0o111) === 0) throw new Errno('EACCES');
      });
    },
    async chdir(path: unknown) {
      const p = str(path, 'chdir', 1);
      return result(p, async () => {
        const r = await rfs.resolve(p, true);
        if (!r.stat) throw new Errno('ENOENT');
        if (r.stat.kind !== 'dir') throw new Errno('ENOTDIR');
        rfs.cwd = r.inside;
      });
    },
    async getcwd() {
      return rfs.cwd;
    },
    async chmod(path: unknown, mode: unknown) {
      const p = str(path, 'chmod', 1);
      const spec = str(mode, 'chmod', 2);
      const r = await rfs.resolve(p, true).catch((e) => e as Errno);
      if (r instanceof Error) return failure(r, p);
      if (!r.stat) return failure(new Errno('ENOENT'), p);
      const m = applyModeString(r.stat.mode, spec);
      if (m === null) throw new XylemError(`bad argument #2 to 'chmod' (bad mode)`, 'EINVAL');
      const st = r.stat;
      return result(p, async () => {
        rfs.checkWritable(r);
        await rfs.breakHardlink(r.host, st);
        await fs.chmod(r.host, m);
      });
    },
    async chown(path: unknown, uid: unknown, gid: unknown) {
      const p = str(path, 'chown', 1);
      const u = await lookupId(ctx, 'passwd', uid);
      const g = await lookupId(ctx, 'group', gid);
      return result(p, async () => {
        const r = await rfs.resolve(p, true);
        if (!r.stat) throw new Errno('ENOENT');
        rfs.checkWritable(r);
        await rfs.breakHardlink(r.host, r.stat);
        const now = (await fs.lstat(r.host))!;
        await fs.lchown(r.host, u < 0 ? now.uid : u, g < 0 ? now.gid : g);
      });
    },
    async utime(path: unknown, mtime: unknown, atime: unknown) {
      const p = str(path, 'utime', 1);
      const now = Math.floor(ctx.now() / 1000);
      const m = typeof mtime === 'number' ? mtime : now;
      const a = typeof atime === 'number' ? atime : now;
      return result(p, async () => {
        const r = await rfs.resolve(p, true);
        if (!r.stat) throw new Errno('ENOENT');
        rfs.checkWritable(r);
        await rfs.breakHardlink(r.host, r.stat);
        await fs.lutimes(r.host, a, m);
      });
    },
    async mkdir(path: unknown) {
      const p = str(path, 'mkdir', 1);
      return result(p, async () => {
        const r = await rfs.resolve(p, false);
        if (r.stat) throw new Errno('EEXIST');
        rfs.checkWritable(r);
        await rfs.requireParent(r);
        await fs.mkdir(r.host, { mode: 0o777 & ~ctx.umask });
        await fs.chmod(r.host, 0o777 & ~ctx.umask);
      });
    },
    async rmdir(path: unknown) {
      const p = str(path, 'rmdir', 1);
      return result(p, async () => {
        const r = await rfs.resolve(p, false);
        if (r.inside === '/') throw new Errno('EBUSY');
        if (!r.stat) throw new Errno('ENOENT');
        if (r.stat.kind !== 'dir') throw new Errno('ENOTDIR');
        rfs.checkWritable(r);
        await fs.rmdir(r.host);
      });
    },
    async unlink(path: unknown) {
      const p = str(path, 'unlink', 1);
      return result(p, async () => {
        const r = await rfs.resolve(p, false);
        if (!r.stat) throw new Errno('ENOENT');
        if (r.stat.kind === 'dir') throw new Errno('EISDIR');
        rfs.checkWritable(r);
        await fs.unlink(r.host);
      });
    },
    async link(oldpath: unknown, newpath: unknown) {
      const o = str(oldpath, 'link', 1);
      const n = str(newpath, 'link', 2);
      return result(null, async () => {
        const a = await rfs.resolve(o, false);
        const b = await rfs.resolve(n, false);
        if (!a.stat) throw new Errno('ENOENT');
        if (a.stat.kind === 'dir') throw new Errno('EPERM');
        if (b.stat) throw new Errno('EEXIST');
        rfs.checkWritable(b);
        await rfs.requireParent(b);
        await fs.link(a.host, b.host);
      });
    },
    async symlink(target: unknown, path: unknown) {
      const t = str(target, 'symlink', 1);
      const p = str(path, 'symlink', 2);
      return result(null, async () => {
        // The target is stored as written; it is resolved inside the root whenever it is used.
        const r = await rfs.resolve(p, false);
        if (r.stat) throw new Errno('EEXIST');
        rfs.checkWritable(r);
        await rfs.requireParent(r);
        await fs.symlink(t, r.host);
      });
    },
    async readlink(path: unknown) {
      const p = str(path, 'readlink', 1);
      try {
        const r = await rfs.resolve(p, false);
        if (!r.stat) throw new Errno('ENOENT');
        if (r.stat.kind !== 'symlink') throw new Errno('EINVAL');
        return MR([await fs.readlink(r.host)]);
      } catch (e) {
        return failure(e, p);
      }
    },
    async stat(path: unknown, selector: unknown) {
      const p = str(path, 'stat', 1);
      let st;
      try {
        const r = await rfs.resolve(p, false);
        if (!r.stat) throw new Errno('ENOENT');
        st = r.stat;
      } catch (e) {
        return failure(e, p);
      }
      const mtime = Math.floor(st.mtimeMs / 1000);
      const values: Record<(typeof STAT_FIELDS)[number], string | number> = {
        mode: modeString(st.mode),
        ino: st.ino,
        dev: st.dev,
        nlink: st.nlink,
        uid: st.uid,
        gid: st.gid,
        size: st.size,
        atime: mtime,
        mtime,
        ctime: mtime,
        type: fileTypeName(st.mode),
        _mode: st.mode,
      };
      if (selector === undefined) return MR([values]);
      const s = str(selector, 'stat', 2);
      if (!(STAT_FIELDS as readonly string[]).includes(s)) throw new XylemError(`bad argument #2 to 'stat' (invalid option '${s}')`, 'EINVAL');
      return MR([values[s as (typeof STAT_FIELDS)[number]]]);
    },
    async dir(path: unknown) {
      const p = path === undefined ? '.' : str(path, 'dir', 1);
      try {
        const r = await rfs.resolve(p, true);
        if (!r.stat) throw new Errno('ENOENT');
        if (r.stat.kind !== 'dir') throw new Errno('ENOTDIR');
        const names = (await fs.readdir(r.host)).map((e) => e.name);
        return MR([['.', '..', ...names]]);
      } catch (e) {
        return failure(e, p);
      }
    },
    async getenv(name: unknown) {
      if (name === undefined) return MR([Object.fromEntries(ctx.env)]);
      return MR([ctx.env.get(str(name, 'getenv', 1))]);
    },
    async setenv(name: unknown, value: unknown, overwrite: unknown) {
      const n = str(name, 'setenv', 1);
      const v = str(value, 'setenv', 2);
      if (overwrite === undefined || overwrite === null || overwrite) ctx.env.set(n, v);
      else if (!ctx.env.has(n)) ctx.env.set(n, v);
      return MR([0]);
    },
    async unsetenv(name: unknown) {
      ctx.env.delete(str(name, 'unsetenv', 1));
      return MR([]);
    },
    async putenv(s: unknown) {
      const v = str(s, 'putenv', 1);
      const eq = v.indexOf('=');
      if (eq <= 0) return failure(new Errno('EINVAL'), v);
      ctx.env.set(v.slice(0, eq), v.slice(eq + 1));
      return MR([0]);
    },
    async umask(mode: unknown) {
      if (mode !== undefined) {
        const m = applyModeString(0o777 & ~ctx.umask, str(mode, 'umask', 1));
        if (m === null) return MR([undefined]);
        ctx.umask = ~m & 0o777;
      }
      return MR([modeString(0o777 & ~ctx.umask)]);
    },
    async getpasswd(who: unknown, selector: unknown) {
      const entries = await ctx.readIdFile('passwd');
      const e = who === undefined || who === null ? entries.find((x) => x.id === 0) : entries.find((x) => (typeof who === 'number' ? x.id === who : x.name === who));
      if (!e) return MR([undefined]);
      const fields = e.fields;
      const t: Record<string, string | number> = { name: fields[0] ?? '', passwd: fields[1] ?? '', uid: Number(fields[2]), gid: Number(fields[3]), gecos: fields[4] ?? '', dir: fields[5] ?? '', shell: fields[6] ?? '' };
      return MR([selector === undefined ? t : t[str(selector, 'getpasswd', 2)]]);
    },
    async getgroup(who: unknown) {
      const entries = await ctx.readIdFile('group');
      const e = entries.find((x) => (typeof who === 'number' ? x.id === who : x.name === who));
      if (!e) return MR([undefined]);
      const t: Record<string | number, string | number> = { name: e.name, gid: e.id };
      (e.fields[3] ?? '')
        .split(',')
        .filter(Boolean)
        .forEach((m, i) => (t[i + 1] = m));
      return MR([t]);
    },
    async getprocessid(selector: unknown) {
      const t: Record<string, number> = { egid: 0, euid: 0, gid: 0, uid: 0, pgrp: 1, pid: 1, ppid: 0 };
      return MR([selector === undefined ? t : t[str(selector, 'getprocessid', 1)]]);
    },
    async uname() {
      return MR(['Linux']);
    },
    async sleep(seconds: unknown) {
      const s = Math.max(0, Math.min(Number(seconds) || 0, 5));
      await new Promise((r) => setTimeout(r, s * 1000));
      return MR([0]);
    },
    async errno() {
      return MR(['Success', 0]);
    },
    fork: unsupported(ctx, 'fork', 'use rpm.execute()'),
    exec: unsupported(ctx, 'exec', 'use rpm.execute()'),
    wait: unsupported(ctx, 'wait', 'use rpm.execute()'),
    redirect2null: unsupported(ctx, 'redirect2null', 'use rpm.execute()'),
    kill: unsupported(ctx, 'kill', 'no processes to signal'),
    setuid: unsupported(ctx, 'setuid', 'scriptlets run as root'),
    setgid: unsupported(ctx, 'setgid', 'scriptlets run as root'),
    mkfifo: unsupported(ctx, 'mkfifo', 'special files are not part of a tree'),
    ttyname: unsupported(ctx, 'ttyname', 'no terminal'),
    ctermid: unsupported(ctx, 'ctermid', 'no terminal'),
    times: unsupported(ctx, 'times', 'no process accounting'),
    files: unsupported(ctx, 'files', 'use posix.dir()'),
  };
}

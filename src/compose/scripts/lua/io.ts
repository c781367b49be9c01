// Lua's io and os functions for scriptlets, confined to the root being built. A file opened for
// writing is held in memory and written back on flush/close (and at the end of the script) by
// writing a new file and renaming it over the old one: the write is atomic and never reaches a
// hardlinked file's other links. Text is handled as UTF-8. os.execute runs `/bin/sh -c` inside
// the sandbox; os.exit, os.tmpname and io.popen are refused (rpm refuses os.exit too).

import { XylemError } from '../../../util/errors.ts';
import type { LuaContext } from './context.ts';
import { failure } from './posix.ts';
import { Errno, MAX_LUA_FILE, toErrno } from './root-fs.ts';
import { MR, type MultiValue } from './values.ts';

const MAX_OPEN = 256;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

interface OpenFile {
  host: string;
  content: string;
  pos: number;
  readable: boolean;
  writable: boolean;
  append: boolean;
  dirty: boolean;
}

function str(v: unknown, fn: string, n: number): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') throw new XylemError(`bad argument #${n} to '${fn}' (string expected, got ${v === undefined ? 'no value' : typeof v})`, 'EINVAL');
  return v;
}

/** The open files of one script, by handle number. */
export class FileTable {
  private files = new Map<number, OpenFile>();
  private next = 3;
  constructor(private readonly ctx: LuaContext) {}

  async open(path: string, mode: string): Promise<MultiValue> {
    const m = /^([rwa])(\+?)b?$/.exec(mode.replace(/b(\+)$/, '$1b'));
    if (!m) throw new XylemError(`bad argument #2 to 'open' (invalid mode '${mode}')`, 'EINVAL');
    if (this.files.size >= MAX_OPEN) return failure(new Errno('EIO'), path);
    const rfs = this.ctx.rootFs;
    try {
      const r = await rfs.resolve(path, true);
      if (r.stat && r.stat.kind === 'dir' && m[1] !== 'r') throw new Errno('EISDIR');
      if (r.stat && r.stat.kind !== 'file' && r.stat.kind !== 'dir') throw new Errno('ENOTSUP');
      let content = '';
      if (m[1] === 'r' || m[1] === 'a') {
        if (!r.stat) {
          if (m[1] === 'r') throw new Errno('ENOENT');
        } else if (r.stat.kind === 'file') {
          if (r.stat.size > MAX_LUA_FILE) throw new Errno('EFBIG');
          content = decoder.decode(await rfs.fs.readFile(r.host));
        }
      }
      if (m[1] !== 'r' || m[2] === '+') rfs.checkWritable(r);
      if (m[1] !== 'r') {
        await rfs.requireParent(r);
        // fopen creates (and "w" truncates) at once.
        if (m[1] === 'w' || !r.stat) await rfs.replaceFile(r.host, encoder.encode(content), 0o666 & ~this.ctx.umask);
      }
      const h = this.next++;
      this.files.set(h, {
        host: r.host,
        content,
        pos: m[1] === 'a' ? content.length : 0,
        readable: m[1] === 'r' || m[2] === '+',
        writable: m[1] !== 'r' || m[2] === '+',
        append: m[1] === 'a',
        dirty: false,
      });
      return MR([h]);
    } catch (e) {
      if (e instanceof XylemError) throw e;
      return failure(e, path);
    }
  }

  private get(h: unknown): OpenFile {
    const f = typeof h === 'number' ? this.files.get(h) : undefined;
    if (!f) throw new XylemError('attempt to use a closed file', 'EBADF');
    return f;
  }

  read(h: unknown, formats: unknown[]): MultiValue {
    const f = this.get(h);
    if (!f.readable) return MR([undefined, 'Bad file descriptor', 9]);
    const out: unknown[] = [];
    const list = formats.length === 0 ? ['l'] : formats;
    for (const raw of list) {
      if (typeof raw === 'number') {
        if (f.pos >= f.content.length && raw > 0) {
          out.push(undefined);
          break;
        }
        out.push(f.content.slice(f.pos, f.pos + raw));
        f.pos = Math.min(f.content.length, f.pos + raw);
        continue;
      }
      const fmt = String(raw).replace(/^\*/, '')[0];
      if (fmt === 'a') {
        out.push(f.content.slice(f.pos));
        f.pos = f.content.length;
      } else if (fmt === 'l' || fmt === 'L') {
        if (f.pos >= f.content.length) {
          out.push(undefined);
          break;
        }
        const nl = f.content.indexOf('\n', f.pos);
        const end = nl < 0 ? f.content.length : nl;
        out.push(f.content.slice(f.pos, fmt === 'L' && nl >= 0 ? end + 1 : end));
        f.pos = nl < 0 ? end : end + 1;
      } else if (fmt === 'n') {
        const m = /^\s*([-+]?(0[xX][0-9a-fA-F.]+(p[-+]?\d+)?|\d*\.?\d+([eE][-+]?\d+)?))/.exec(f.content.slice(f.pos));
        if (!m) {
          out.push(undefined);
          break;
        }
        f.pos += m[0].length;
        out.push(Number(m[1]));
      } else throw new XylemError(`bad argument to 'read' (invalid format)`, 'EINVAL');
    }
    return MR(out);
  }

  write(h: unknown, values: unknown[]): MultiValue {
    const f = this.get(h);
    if (!f.writable) return MR([undefined, 'Bad file descriptor', 9]);
    for (const v of values) {
      const s = typeof v === 'number' ? String(v) : str(v, 'write', 1);
      if (f.append) f.pos = f.content.length;
      f.content = f.content.slice(0, f.pos) + s + f.content.slice(f.pos + s.length);
      f.pos += s.length;
      if (f.content.length > MAX_LUA_FILE) throw new XylemError(`${this.ctx.scriptName}: file written larger than 64 MiB`, 'EFBIG');
    }
    f.dirty = true;
    return MR([true]);
  }

  seek(h: unknown, whence: unknown, offset: unknown): MultiValue {
    const f = this.get(h);
    const off = typeof offset === 'number' ? offset : 0;
    const base = whence === 'set' ? 0 : whence === 'end' ? f.content.length : f.pos;
    const pos = base + off;
    if (pos < 0) return MR([undefined, 'Invalid argument', 22]);
    f.pos = pos;
    return MR([pos]);
  }

  async flush(h: unknown): Promise<MultiValue> {
    const f = this.get(h);
    if (f.dirty) {
      try {
        await this.ctx.rootFs.replaceFile(f.host, encoder.encode(f.content), 0o666 & ~this.ctx.umask);
        this.ctx.invalidateIds();
      } catch (e) {
        return failure(e, null);
      }
      f.dirty = false;
    }
    return MR([true]);
  }

  async close(h: unknown): Promise<MultiValue> {
    const r = await this.flush(h);
    this.files.delete(h as number);
    return r;
  }

  /** Writes back every file still open (the script ended without closing them). */
  async closeAll(): Promise<void> {
    for (const h of [...this.files.keys()]) {
      const r = await this.close(h);
      if (r[0] === undefined) throw new XylemError(`${this.ctx.scriptName}: writing back an open file failed: ${String(r[1])}`, 'EIO');
    }
  }
}

/** The JS side of io.* and os.* (the prelude builds the Lua tables around them). */
export function ioFunctions(ctx: LuaContext, files: FileTable): Record<string, (...args: unknown[]) => unknown> {
  const rfs = ctx.rootFs;
  return {
    async open(path: unknown, mode: unknown) {
      return files.open(str(path, 'open', 1), mode === undefined ? 'r' : str(mode, 'open', 2));
    },
    async fread(h: unknown, ...formats: unknown[]) {
      return files.read(h, formats);
    },
    async fwrite(h: unknown, ...values: unknown[]) {
      return files.write(h, values);
    },
    async fseek(h: unknown, whence: unknown, offset: unknown) {
      return files.seek(h, whence, offset);
    },
    async fflush(h: unknown) {
      return files.flush(h);
    },
    async fclose(h: unknown) {
      return files.close(h);
    },
    async out(...values: unknown[]) {
      ctx.output(values.map((v) => (typeof v === 'number' ? String(v) : str(v, 'write', 1))).join(''));
      return MR([true]);
    },
    async remove(path: unknown) {
      const p = str(path, 'remove', 1);
      try {
        const r = await rfs.resolve(p, false);
        if (r.inside === '/') throw new Errno('EBUSY');
        if (!r.stat) throw new Errno('ENOENT');
        rfs.checkWritable(r);
        if (r.stat.kind === 'dir') await rfs.fs.rmdir(r.host);
        else await rfs.fs.unlink(r.host);
        return MR([true]);
      } catch (e) {
        return failure(e, p);
      }
    },
    async rename(from: unknown, to: unknown) {
      const a = str(from, 'rename', 1);
      const b = str(to, 'rename', 2);
      try {
        const x = await rfs.resolve(a, false);
        const y = await rfs.resolve(b, false);
        if (x.inside === '/' || y.inside === '/') throw new Errno('EBUSY');
        if (!x.stat) throw new Errno('ENOENT');
        rfs.checkWritable(x);
        rfs.checkWritable(y);
        await rfs.requireParent(y);
        await rfs.fs.rename(x.host, y.host);
        return MR([true]);
      } catch (e) {
        return failure(e, a);
      }
    },
    async getenv(name: unknown) {
      return MR([ctx.env.get(str(name, 'getenv', 1))]);
    },
    async execute(cmd: unknown) {
      if (cmd === undefined) return MR([true]);
      const r = await ctx.execute(['/bin/sh', '-c', str(cmd, 'execute', 1)], Object.fromEntries(ctx.env));
      if (r.output) ctx.output(r.output);
      if (r.exitCode === 0) return MR([true, 'exit', 0]);
      return r.exitCode === null ? MR([undefined, 'signal', 9]) : MR([undefined, 'exit', r.exitCode]);
    },
  };
}

export { toErrno };

// The `rpm` module of Lua scriptlets (rpmio/rpmlua.c): expand/define/undefine/isdefined over the
// transaction's macro table, vercmp, b64encode/b64decode, glob (confined to the root), execute and
// spawn (inside the sandbox; answer 0 on success, else nil, message, wait status, as rpm), and
// next_file for file triggers. Functions that reach outside a scriptlet (rpm.open, rpm.load,
// rpm.interactive, register/call hooks) are refused with an error naming them.

import { XylemError } from '../../../util/errors.ts';
import { evrCompare } from '../vercmp.ts';
import type { LuaContext } from './context.ts';
import { toErrno } from './root-fs.ts';
import { MR } from './values.ts';

const MAX_GLOB_RESULTS = 100_000;

function str(v: unknown, fn: string, n: number): string {
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') throw new XylemError(`bad argument #${n} to '${fn}' (string expected, got ${v === undefined ? 'no value' : typeof v})`, 'EINVAL');
  return v;
}

/** A glob component as a regular expression (`*`, `?`, `[...]`; dotfiles only when explicit). */
function componentRegex(c: string): RegExp {
  let re = '';
  for (let i = 0; i < c.length; i++) {
    const ch = c[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = c.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = c.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands a glob pattern inside the root; sorted matches. */
async function globInRoot(ctx: LuaContext, pattern: string): Promise<string[]> {
  const rfs = ctx.rootFs;
  const absolute = pattern.startsWith('/');
  const parts = pattern.split('/').filter(Boolean);
  let current: string[] = [absolute ? '/' : rfs.cwd];
  let shown: string[] = [absolute ? '' : '.'];
  for (const part of parts) {
    const next: string[] = [];
    const nextShown: string[] = [];
    const magic = /[*?[]/.test(part);
    for (let k = 0; k < current.length; k++) {
      const dir = current[k]!;
      const base = dir === '/' ? '' : dir;
      if (!magic) {
        const r = await rfs.resolve(`${base}/${part}`, false).catch(() => null);
        if (r?.stat) {
          next.push(`${base}/${part}`);
          nextShown.push(`${shown[k]}/${part}`);
        }
        continue;
      }
      const r = await rfs.resolve(dir, true).catch(() => null);
      if (!r?.stat || r.stat.kind !== 'dir') continue;
      const re = componentRegex(part);
      for (const e of await rfs.fs.readdir(r.host)) {
        if (e.name.startsWith('.') && !part.startsWith('.')) continue;
        if (!re.test(e.name)) continue;
        next.push(`${base}/${e.name}`);
        nextShown.push(`${shown[k]}/${e.name}`);
        if (next.length > MAX_GLOB_RESULTS) throw new XylemError(`${ctx.scriptName}: rpm.glob('${pattern}') matches too many paths`, 'E2BIG');
      }
    }
    current = next;
    shown = nextShown;
  }
  return shown.map((s) => (absolute ? s : s.replace(/^\.\//, ''))).sort();
}

const refused = (ctx: LuaContext, name: string) => (): never => {
  throw new XylemError(`${ctx.scriptName}: rpm.${name}() is not supported in a sandboxed scriptlet`, 'ESCRIPT_UNSUPPORTED');
};

async function run(ctx: LuaContext, argv: string[]): Promise<unknown[]> {
  const r = await ctx.execute(argv, Object.fromEntries(ctx.env));
  if (r.output) ctx.output(r.output);
  if (r.exitCode === 0) return MR([0]);
  // rpm answers the raw wait status (exit code << 8, or the signal number).
  const status = r.exitCode === null ? 9 : r.exitCode << 8;
  return MR([undefined, `Unknown error ${status}`, status]);
}

/** The JS side of the rpm table. */
export function rpmFunctions(ctx: LuaContext): Record<string, (...args: unknown[]) => unknown> {
  return {
    async expand(s: unknown) {
      return MR([ctx.macros.expand(str(s, 'expand', 1))]);
    },
    async define(s: unknown) {
      ctx.macros.define(str(s, 'define', 1));
      return MR([]);
    },
    async undefine(s: unknown) {
      ctx.macros.undefine(str(s, 'undefine', 1));
      return MR([]);
    },
    async isdefined(s: unknown) {
      const name = str(s, 'isdefined', 1).replace(/^%\{?|\}$/g, '');
      return MR([ctx.macros.isDefined(name), false]);
    },
    async vercmp(a: unknown, b: unknown) {
      return MR([evrCompare(str(a, 'vercmp', 1), str(b, 'vercmp', 2))]);
    },
    async b64encode(s: unknown) {
      const bytes = new TextEncoder().encode(str(s, 'b64encode', 1));
      let bin = '';
      for (const b of bytes) bin += String.fromCharCode(b);
      return MR([btoa(bin)]);
    },
    async b64decode(s: unknown) {
      try {
        const bin = atob(str(s, 'b64decode', 1));
        return MR([new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))]);
      } catch {
        return MR([undefined]);
      }
    },
    async glob(pattern: unknown, flags: unknown) {
      const p = str(pattern, 'glob', 1);
      const matches = await globInRoot(ctx, p).catch((e) => {
        if (e instanceof XylemError) throw e;
        throw new XylemError(`${ctx.scriptName}: rpm.glob('${p}'): ${toErrno(e).text}`, 'EIO');
      });
      if (matches.length === 0 && typeof flags === 'string' && flags.includes('c')) return MR([[p]]);
      return MR([matches]);
    },
    async execute(...args: unknown[]) {
      const argv = args.map((a, i) => str(a, 'execute', i + 1));
      if (argv.length === 0) throw new XylemError(`bad argument #1 to 'execute' (string expected, got no value)`, 'EINVAL');
      return run(ctx, argv);
    },
    async spawn(argv: unknown, opts: unknown) {
      const list = Array.isArray(argv) ? argv : argv && typeof argv === 'object' ? Object.values(argv as object) : null;
      if (!list || list.length === 0) throw new XylemError(`bad argument #1 to 'spawn' (table expected)`, 'EINVAL');
      if (opts !== undefined && opts !== null && typeof opts === 'object' && Object.keys(opts).length > 0)
        throw new XylemError(`${ctx.scriptName}: rpm.spawn() redirections are not supported in a sandboxed scriptlet`, 'ESCRIPT_UNSUPPORTED');
      return run(
        ctx,
        list.map((a, i) => str(a, 'spawn', i + 1)),
      );
    },
    async next_file() {
      if (!ctx.nextFile) return MR([undefined]);
      return MR([await ctx.nextFile()]);
    },
    open: refused(ctx, 'open'),
    load: refused(ctx, 'load'),
    interactive: refused(ctx, 'interactive'),
    register: refused(ctx, 'register'),
    unregister: refused(ctx, 'unregister'),
    call: refused(ctx, 'call'),
    redirect2null: refused(ctx, 'redirect2null'),
  };
}

// Runs one `<lua>` scriptlet with wasmoon (Lua 5.4 compiled to WebAssembly), as rpm runs Lua in
// its own process (lib/rpmscript.c runLuaScript): globals `arg` = {"<lua>", $1[, $2]} with the
// numeric arguments as numbers, rpm's posix/rpm modules and io/os, a fresh Lua state per script
// (the macro table is shared by the transaction, as rpm's global macro context). Everything the
// script touches is confined (root-fs.ts); programs it starts run in the sandbox. Bounded by a
// wall-clock timeout and a memory cap.

import wasmoon from 'wasmoon';
import type { FsHost } from '../../../host.ts';
import { XylemError } from '../../../util/errors.ts';
import type { MacroTable } from '../macros.ts';
import { LuaContext, type LuaExecute } from './context.ts';
import { FileTable, ioFunctions } from './io.ts';
import { posixFunctions } from './posix.ts';
import { PRELUDE } from './prelude.ts';
import { rpmFunctions } from './rpm.ts';

interface LuaEngineLike {
  global: {
    set(name: string, value: unknown): void;
    setMemoryMax(max: number | undefined): void;
    newThread(): { loadString(code: string, name?: string): void; setTimeout(t: number | undefined): void; run(n?: number): Promise<unknown> };
    close(): void;
  };
  doString(code: string): Promise<unknown>;
}
interface LuaFactoryLike {
  createEngine(opts: { enableProxy?: boolean; traceAllocations?: boolean; openStandardLibs?: boolean }): Promise<LuaEngineLike>;
}

let factory: LuaFactoryLike | null = null;
function getFactory(): LuaFactoryLike {
  const F = (wasmoon as unknown as { LuaFactory: new () => LuaFactoryLike }).LuaFactory;
  factory ??= new F();
  return factory;
}

export interface LuaRunOptions {
  fs: FsHost;
  /** Host path of the root being built. */
  root: string;
  /** rpm's script name, e.g. `%post(foo-1.0-1.noarch)` (chunk name and error prefix). */
  scriptName: string;
  body: string;
  /** `$1`, `$2` (numbers), as rpm passes them. */
  args: number[];
  macros: MacroTable;
  env: Record<string, string>;
  output: (text: string) => void;
  execute: LuaExecute;
  /** File triggers: the next matching path, undefined at the end. */
  nextFile?: () => Promise<string | undefined>;
  timeoutMs: number;
  memoryBytes: number;
  now?: () => number;
}

/** Runs a Lua scriptlet; throws XylemError (code ESCRIPT) with Lua's message when it fails. */
export async function runLuaScript(o: LuaRunOptions): Promise<void> {
  if (typeof o.body !== 'string') throw new XylemError('runLuaScript: body must be a string', 'EINVAL');
  if (!Number.isFinite(o.timeoutMs) || o.timeoutMs <= 0) throw new XylemError('runLuaScript: timeoutMs must be positive', 'EINVAL');
  const ctx = new LuaContext(o.fs, o.root, o.scriptName, o.macros, new Map(Object.entries(o.env)), o.output, o.execute, o.nextFile ?? null, o.now ?? Date.now);
  const files = new FileTable(ctx);
  const engine = await getFactory().createEngine({ enableProxy: false, traceAllocations: true });
  let failed = true;
  try {
    engine.global.set('__xylem', { posix: nilAsUndefined(posixFunctions(ctx)), rpm: nilAsUndefined(rpmFunctions(ctx)), io: nilAsUndefined(ioFunctions(ctx, files)) });
    await engine.doString(PRELUDE);
    engine.global.set('arg', ['<lua>', ...o.args]);
    engine.global.setMemoryMax(o.memoryBytes);
    const thread = engine.global.newThread();
    try {
      thread.loadString(o.body, o.scriptName);
    } catch (e) {
      throw new XylemError(`lua script failed: ${luaMessage(e)}`, 'ESCRIPT');
    }
    thread.setTimeout(Date.now() + o.timeoutMs);
    try {
      await thread.run(0);
    } catch (e) {
      if (e instanceof XylemError && e.code === 'ESCRIPT_UNSUPPORTED') throw e;
      const msg = luaMessage(e);
      if (/thread timeout exceeded/.test(msg)) throw new XylemError(`lua script failed: timed out after ${Math.round(o.timeoutMs / 1000)} s`, 'ETIMEDOUT');
      throw new XylemError(`lua script failed: ${msg}`, 'ESCRIPT');
    }
    failed = false;
  } finally {
    try {
      await files.closeAll();
    } catch (e) {
      if (!failed) throw e;
    }
    engine.global.close();
  }
}

/** wasmoon hands an explicit Lua nil argument over as null: the bindings see undefined instead. */
function nilAsUndefined(fns: Record<string, (...args: unknown[]) => unknown>): Record<string, (...args: unknown[]) => unknown> {
  const out: Record<string, (...args: unknown[]) => unknown> = {};
  for (const [k, f] of Object.entries(fns)) out[k] = (...args: unknown[]) => f(...args.map((a) => (a === null ? undefined : a)));
  return out;
}

/** The first line of a Lua error (wasmoon appends a traceback). */
function luaMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\nstack traceback:')[0]!.trim();
}

// Carries out a script plan (plan.ts) in a root being assembled, as rpm-ostree's assemble step
// does: each shell script in its own sandbox (Host.sandbox: bwrap, /usr and /etc copied up on
// write; consecutive shell scripts share the copy-up set-up when the host offers sessions), each
// Lua script in a confined Lua state, output prefixed `<pkg>.<script>: `, a shared writable
// /var/lib/rpm-state, and rpm-ostree's error wording when a script fails
// (`Running %post for foo: bwrap(/bin/sh): Child process exited with code 1`), followed here by
// the script's prefixed output. Progress is reported as typed events: phase start/done
// ("Running post scripts... N done"), each script's start, output lines, skip and completion.

import type { Host, SandboxRequest, SandboxResult, SandboxSession } from '../../host.ts';
import { randomSuffix } from '../../util/atomic-write.ts';
import { XylemError } from '../../util/errors.ts';
import { matchingPaths, pathChunks, peek } from './file-triggers.ts';
import { runLuaScript } from './lua/run-lua.ts';
import { MacroTable } from './macros.ts';
import { planScripts, type PlanOptions, type ScriptStep, type SkippedScript } from './plan.ts';
import type { ScriptEvent, ScriptPhase } from './types.ts';

const PHASE_LABEL: Record<ScriptPhase, string> = { pre: 'Running pre scripts', post: 'Running post scripts', posttrans: 'Running posttrans scripts' };
const encoder = new TextEncoder();

export interface RunScriptsOptions extends PlanOptions {
  /** Host path of the assembled root (package checkouts hardlinked in). */
  root: string;
  /**
   * Host directory bound writable at /var/lib/rpm-state for the whole transaction. Default: a
   * fresh directory beside the root, removed at the end.
   */
  stateDir?: string;
  /** LANG for scripts (default "C"). */
  lang?: string;
  /** SOURCE_DATE_EPOCH for scripts, when set. */
  sourceDateEpoch?: string;
  /** Per-script wall-clock limit (default 30 minutes). */
  timeoutMs?: number;
  /** Per-script output kept (default 4 MiB). */
  maxOutputBytes?: number;
  /** Memory cap of each Lua state (default 256 MiB). */
  luaMemoryBytes?: number;
  /** Macro table shared by the transaction's scripts (default: rpm's directory macros). */
  macros?: MacroTable;
  onEvent?: (e: ScriptEvent) => void;
}

export interface ScriptRunSummary {
  /** Scripts run per phase (file triggers count in posttrans, as rpm-ostree's "N done"). */
  counts: Record<ScriptPhase, number>;
  skipped: SkippedScript[];
}

/** A scriptlet failed; `output` holds its prefixed output lines. */
export class ScriptError extends XylemError {
  readonly pkg: string;
  readonly script: string;
  readonly exitCode: number | null;
  readonly output: string;
  constructor(message: string, code: string, data: { pkg: string; script: string; exitCode: number | null; output: string }) {
    super(data.output ? `${message}\n${data.output.replace(/\n$/, '')}` : message, code);
    this.name = 'ScriptError';
    this.pkg = data.pkg;
    this.script = data.script;
    this.exitCode = data.exitCode;
    this.output = data.output;
  }
}

/** The environment scripts get: nothing else of the caller's (rpm-ostree's bwrap launcher). */
export function scriptEnvironment(opts: { lang?: string; sourceDateEpoch?: string }): Record<string, string> {
  const env: Record<string, string> = { PATH: '/usr/sbin:/usr/bin', LANG: opts.lang ?? 'C' };
  if (opts.sourceDateEpoch !== undefined) {
    if (!/^\d+$/.test(opts.sourceDateEpoch)) throw new XylemError(`scripts: SOURCE_DATE_EPOCH must be decimal seconds, not ${JSON.stringify(opts.sourceDateEpoch)}`, 'EINVAL');
    env.SOURCE_DATE_EPOCH = opts.sourceDateEpoch;
  }
  env.SYSTEMD_OFFLINE = '1';
  return env;
}

/** Splits output into `<id>: line` lines (a missing final newline is supplied). */
function prefixLines(id: string, text: string): string[] {
  if (text === '') return [];
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.map((l) => `${id}: ${l}`);
}

function describeFailure(interp: string, r: SandboxResult, timeoutMs: number): string {
  if (r.timedOut) return `bwrap(${interp}): timed out after ${Math.round(timeoutMs / 1000)} s`;
  if (r.exitCode === null) return `bwrap(${interp}): Child process killed by signal ${r.signal ?? '?'}`;
  return `bwrap(${interp}): Child process exited with code ${r.exitCode}`;
}

interface Runner {
  host: Host;
  root: string;
  env: Record<string, string>;
  stateDir: string;
  timeoutMs: number;
  maxOutputBytes: number;
  luaMemoryBytes: number;
  macros: MacroTable;
  emit: (e: ScriptEvent) => void;
  /** Shared set-up of the root across consecutive shell scripts (SandboxHost.open), if any. */
  session: SandboxSession | null;
  /** Lua writes to the root directly: no session may be open meanwhile. */
  inLua: boolean;
}

async function endSession(rn: Runner): Promise<void> {
  const s = rn.session;
  rn.session = null;
  if (s) await s.close();
}

async function runInSandbox(rn: Runner, argv: string[], script: Uint8Array | undefined, stdin: AsyncIterable<Uint8Array> | undefined, env: Record<string, string>): Promise<SandboxResult> {
  const sandbox = rn.host.sandbox;
  if (!sandbox) throw new XylemError('scripts: this host cannot run scriptlets (no sandbox capability: bubblewrap is needed)', 'ENOSYS');
  const req: SandboxRequest = {
    root: rn.root,
    argv,
    ...(script ? { script } : {}),
    ...(stdin ? { stdin } : {}),
    env,
    binds: [{ source: rn.stateDir, dest: '/var/lib/rpm-state', writable: true }],
    mutability: 'copyup',
    timeoutMs: rn.timeoutMs,
    maxOutputBytes: rn.maxOutputBytes,
  };
  if (rn.inLua || !sandbox.open) return sandbox.run(req);
  rn.session ??= await sandbox.open(rn.root, 'copyup');
  return rn.session.run(req);
}

/** Runs one step; resolves false when a file trigger matched nothing (not counted). */
async function runStep(rn: Runner, step: ScriptStep): Promise<boolean> {
  const errPrefix = step.kind === 'transfiletriggerin' ? `Executing %transfiletriggerin for ${step.pkg}` : `Running ${step.desc} for ${step.pkg}`;
  const body = step.expand ? rn.macros.expand(step.body) : step.body;
  let paths: AsyncIterable<string> | null = null;
  const counter = { n: 0 };
  if (step.kind === 'transfiletriggerin') {
    paths = await peek(matchingPaths(rn.host.fs, rn.root, step.prefixes ?? []));
    if (!paths) {
      rn.emit({ type: 'script-skipped', pkg: step.pkg, script: step.id, reason: `no files matched %transfiletriggerin(${(step.prefixes ?? []).join(', ')})` });
      return false;
    }
  }
  rn.emit({ type: 'script-start', pkg: step.pkg, script: step.id });
  const started = Date.now();
  const outLines: string[] = [];
  const emitOutput = (text: string): void => {
    for (const line of prefixLines(step.id, text)) {
      outLines.push(line);
      rn.emit({ type: 'output', pkg: step.pkg, script: step.id, line });
    }
  };

  if (step.interpreter === '<lua>') {
    let iter: AsyncIterator<string> | null = null;
    const nextFile = paths
      ? async (): Promise<string | undefined> => {
          iter ??= paths![Symbol.asyncIterator]();
          const n = await iter.next();
          if (n.done) return undefined;
          counter.n++;
          return n.value;
        }
      : undefined;
    let pending = '';
    await endSession(rn);
    rn.inLua = true;
    try {
      await runLuaScript({
        fs: rn.host.fs,
        root: rn.root,
        scriptName: `${step.desc}(${step.pkg})`,
        body,
        args: [...(step.arg === null ? [] : [Number(step.arg)]), ...(step.arg2 === undefined ? [] : [Number(step.arg2)])],
        macros: rn.macros,
        env: rn.env,
        output: (t) => {
          pending += t;
          const nl = pending.lastIndexOf('\n');
          if (nl >= 0) {
            emitOutput(pending.slice(0, nl + 1));
            pending = pending.slice(nl + 1);
          }
        },
        execute: async (argv, env) => {
          const r = await runInSandbox(rn, argv, undefined, undefined, env);
          return { exitCode: r.exitCode, signal: r.signal, output: new TextDecoder().decode(r.output) };
        },
        ...(nextFile ? { nextFile } : {}),
        timeoutMs: rn.timeoutMs,
        memoryBytes: rn.luaMemoryBytes,
        ...(rn.host.now ? { now: rn.host.now } : {}),
      });
    } catch (e) {
      emitOutput(pending);
      const msg = e instanceof Error ? e.message : String(e);
      const code = e instanceof XylemError && e.code ? e.code : 'ESCRIPT';
      throw new ScriptError(`${errPrefix}: ${msg}`, code, { pkg: step.pkg, script: step.id, exitCode: null, output: outLines.join('\n') });
    } finally {
      rn.inLua = false;
    }
    emitOutput(pending);
  } else {
    const argv = [step.interpreter, '/proc/self/fd/5', ...(step.arg !== null ? [step.arg] : []), ...(step.arg2 !== undefined ? [step.arg2] : [])];
    const stdin = paths ? pathChunks(paths, counter) : undefined;
    const r = await runInSandbox(rn, argv, encoder.encode(body), stdin, rn.env);
    emitOutput(new TextDecoder().decode(r.output) + (r.outputTruncated ? '\n[output truncated]\n' : ''));
    if (r.timedOut || r.exitCode !== 0)
      throw new ScriptError(`${errPrefix}: ${describeFailure(step.interpreter, r, rn.timeoutMs)}`, r.timedOut ? 'ETIMEDOUT' : 'ESCRIPT', {
        pkg: step.pkg,
        script: step.id,
        exitCode: r.exitCode,
        output: outLines.join('\n'),
      });
  }
  const done: ScriptEvent = { type: 'script-done', pkg: step.pkg, script: step.id, ms: Date.now() - started };
  if (step.kind === 'transfiletriggerin') done.matchedFiles = counter.n;
  rn.emit(done);
  return true;
}

/**
 * Runs the scripts of a transaction in `root`: plans them (planScripts), then runs each phase in
 * order. Throws ScriptError at the first failing script (the transaction must be abandoned).
 */
export async function runScripts(host: Host, opts: RunScriptsOptions): Promise<ScriptRunSummary> {
  if (!host || !host.fs) throw new XylemError('runScripts: a host is required', 'EINVAL');
  if (typeof opts?.root !== 'string' || !opts.root.startsWith('/')) throw new XylemError('runScripts: root must be an absolute path', 'EINVAL');
  const rootStat = await host.fs.lstat(opts.root);
  if (!rootStat || rootStat.kind !== 'dir') throw new XylemError(`runScripts: ${opts.root} is not a directory`, 'ENOTDIR');
  const plan = planScripts(opts);
  const counts: Record<ScriptPhase, number> = { pre: 0, post: 0, posttrans: 0 };
  const emit = opts.onEvent ?? ((): void => undefined);
  for (const s of plan.skipped) if (s.reason !== 'not-run-by-rpm-ostree') emit({ type: 'script-skipped', pkg: s.pkg, script: s.id, reason: s.reason });
  if (plan.steps.length > 0 && !host.sandbox && plan.steps.some((s) => s.interpreter !== '<lua>'))
    throw new XylemError('scripts: this host cannot run scriptlets (no sandbox capability: bubblewrap is needed)', 'ENOSYS');

  const ownState = opts.stateDir === undefined;
  const trimmed = opts.root.replace(/\/+$/, '');
  const stateDir = opts.stateDir ?? `${trimmed.slice(0, trimmed.lastIndexOf('/')) || '/'}/.${trimmed.slice(trimmed.lastIndexOf('/') + 1)}.rpm-state-${randomSuffix()}`;
  if (ownState) await host.fs.mkdir(stateDir, { mode: 0o755 });
  const rn: Runner = {
    host,
    root: trimmed,
    env: scriptEnvironment(opts),
    stateDir,
    timeoutMs: opts.timeoutMs ?? 30 * 60 * 1000,
    maxOutputBytes: opts.maxOutputBytes ?? 4 << 20,
    luaMemoryBytes: opts.luaMemoryBytes ?? 256 << 20,
    macros: opts.macros ?? new MacroTable(),
    emit,
    session: null,
    inLua: false,
  };
  try {
    for (const phase of ['pre', 'post', 'posttrans'] as const) {
      emit({ type: 'phase-start', phase, label: PHASE_LABEL[phase] });
      for (const step of plan.steps) if (step.phase === phase && (await runStep(rn, step))) counts[phase]++;
      emit({ type: 'phase-done', phase, label: PHASE_LABEL[phase], count: counts[phase] });
    }
  } finally {
    await endSession(rn);
    if (ownState) await host.fs.rmrf(stateDir);
  }
  return { counts, skipped: plan.skipped };
}

/**
 * rpm-ostree's check after scripts: `/usr/bin/true` must run in the finished root (read-only
 * sandbox). Fails with `Sanity-checking final rootfs: bwrap(/usr/bin/true): …`.
 */
export async function sanityCheckRoot(host: Host, root: string, timeoutMs = 60_000): Promise<void> {
  if (!host.sandbox) throw new XylemError('scripts: this host has no sandbox capability', 'ENOSYS');
  const r = await host.sandbox.run({ root, argv: ['/usr/bin/true'], env: scriptEnvironment({}), mutability: 'readonly', timeoutMs, maxOutputBytes: 64 << 10 });
  if (r.timedOut || r.exitCode !== 0) throw new XylemError(`Sanity-checking final rootfs: ${describeFailure('/usr/bin/true', r, timeoutMs)}`, 'ESCRIPT');
}

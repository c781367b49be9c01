// The services compose plugs in from the other package-half modules: the scriptlet runner of
// src/compose/scripts (bubblewrap through Host.sandbox) and the rpmdb writer of src/rpmdb (SQLite
// through Host.wasm), adapted to the assembly's seams (assemble.ts); src/rpm's script and trigger
// views become the runner's ScriptPackage through its scriptPackageFromHeader.

import type { Host } from '../host.ts';
import { writeTreeRpmdbFromPackages } from '../rpmdb/index.ts';
import { loadSqlite } from '../rpmdb/sqlite.ts';
import { runScripts, scriptEnvironment, scriptPackageFromHeader } from './scripts/index.ts';
import type { ScriptPackage } from './scripts/index.ts';
import { formatEvr } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';
import type { AssembleServices, InitramfsBuilder, RpmdbWriter, ScriptRunner } from './assemble.ts';
import { buildInitramfs } from './initramfs.ts';
import type { ComposeEvent } from './events.ts';
import type { ComposePackage, ComposeScript, ComposeTrigger } from './package.ts';

/** src/rpm's view of a package as the script runner wants it (every package a fresh install). */
export function toScriptPackage(p: ComposePackage): ScriptPackage {
  const flags = (l: ComposeScript[] | ComposeTrigger[]) => l.map((x) => ({ ...x, flags: x.flags ?? 0 }));
  return scriptPackageFromHeader({
    name: p.nevra.name,
    release: p.nevra.release,
    evr: formatEvr(p.nevra),
    action: 'install',
    scripts: flags(p.scripts?.() ?? []) as Array<ComposeScript & { flags: number }>,
    triggers: flags(p.triggers?.() ?? []) as ComposeTrigger[],
    fileTriggers: flags(p.fileTriggers?.() ?? []) as ComposeTrigger[],
    transFileTriggers: flags(p.transFileTriggers?.() ?? []) as ComposeTrigger[],
  });
}

const POSTPROCESS_TIMEOUT_MS = 30 * 60 * 1000;
const MAX_OUTPUT = 4 << 20;

/** Scriptlets and postprocess scripts through Host.sandbox. */
export function sandboxScriptRunner(host: Host): ScriptRunner {
  return {
    async runPackageScripts(root: string, packages: readonly ComposePackage[], emit: (e: ComposeEvent) => void): Promise<void> {
      await runScripts(host, {
        root,
        packages: packages.map(toScriptPackage),
        sourceDateEpoch: host.env?.SOURCE_DATE_EPOCH,
        onEvent: (e) => {
          if (e.type === 'script-start') emit({ type: 'script', pkg: e.pkg, script: e.script });
        },
      });
    },
    async runPostprocess(root: string, body: Uint8Array, name: string): Promise<void> {
      if (!host.sandbox) throw new XylemError('postprocess scripts need a sandbox (Host.sandbox: bubblewrap)', 'ENOSYS');
      const text = new TextDecoder().decode(body.subarray(0, 256));
      const m = /^#!\s*(\S+)(?:[ \t]+([^\n]*))?/.exec(text);
      const interp = m ? [m[1]!, ...(m[2] ? [m[2].trim()] : [])] : ['/bin/sh'];
      const r = await host.sandbox.run({
        root,
        argv: [...interp, '/proc/self/fd/5'],
        script: body,
        env: scriptEnvironment({ sourceDateEpoch: host.env?.SOURCE_DATE_EPOCH }),
        mutability: 'copyup',
        timeoutMs: POSTPROCESS_TIMEOUT_MS,
        maxOutputBytes: MAX_OUTPUT,
      });
      if (r.exitCode !== 0) {
        const why = r.timedOut ? 'timed out' : r.signal ? `killed by signal ${r.signal}` : `exited with code ${r.exitCode}`;
        const out = new TextDecoder().decode(r.output);
        throw new XylemError(`Running postprocess script ${name}: bwrap(${interp[0]}): Child process ${why}${out ? `\n${out.replace(/\n$/, '')}` : ''}`, 'ESCRIPT');
      }
    },
  };
}

/** The rpmdb written by src/rpmdb from each package's lead-to-header bytes. */
export function rpmdbWriter(host: Host, installTime?: number): RpmdbWriter {
  return {
    async writeRpmdb(root: string, packages: readonly ComposePackage[]): Promise<void> {
      await writeTreeRpmdbFromPackages(host, root, packages.map((p) => p.metadataBytes), installTime !== undefined ? { installTime } : {});
    },
    prepare(): void {
      // compiled while the packages import; a failure shows again when writeRpmdb loads it
      loadSqlite(host).catch(() => undefined);
    },
  };
}

/** The tree's own dracut through Host.sandbox (initramfs.ts). */
export function sandboxInitramfsBuilder(host: Host): InitramfsBuilder {
  return {
    async buildInitramfs(root: string, kver: string, args: readonly string[]): Promise<void> {
      await buildInitramfs(host, root, { kver, args, sourceDateEpoch: host.env?.SOURCE_DATE_EPOCH, dracutNoXattr: host.env?.DRACUT_NO_XATTR });
    },
  };
}

/** Everything the host can offer: scripts and dracut when it has a sandbox, the rpmdb when it has SQLite. */
export function composeServices(host: Host, opts: { installTime?: number } = {}): AssembleServices {
  return {
    ...(host.sandbox ? { scripts: sandboxScriptRunner(host), initramfs: sandboxInitramfsBuilder(host) } : {}),
    ...(host.wasm?.sqlJs ? { rpmdb: rpmdbWriter(host, opts.installTime) } : {}),
  };
}

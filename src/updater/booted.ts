// Which deployment counts as "booted". On the running system (sysroot "/") libostree's rule holds:
// the deployment whose root is the same directory as "/" (the Sysroot loader finds it). A
// throw-away sysroot has no booted deployment unless one is named, in this order:
//   1. an explicit spec (CLI --booted-deployment=SPEC, else env XYLEM_BOOTED=SPEC);
//   2. the kernel command line's ostree= argument (ostree-prepare-root's rule), read from
//      XYLEM_PROC_CMDLINE when set, else /proc/cmdline, resolved through SYSROOT/ostree/boot.B/…
//      — it only matches when that boot link exists in this sysroot.
// SPEC is one of: "ostree=/ostree/boot.B/OS/BOOTCSUM/N" or that path alone (resolved like the
// kernel argument), "OS/CSUM.SERIAL", "CSUM.SERIAL", or "none" (explicitly not booted).

import { KernelArgs } from '../sysroot/kargs.ts';
import { readlinkOrNull } from '../sysroot/fsutil.ts';
import type { Deployment } from '../sysroot/deployment.ts';
import type { Sysroot } from '../sysroot/sysroot.ts';
import { XylemError } from '../util/errors.ts';
import { fromUtf8 } from '../util/bytes.ts';

const DEPLOY_LINK_RE = /^(?:\.\.\/){3}deploy\/([A-Za-z0-9_.-]+)\/deploy\/([0-9a-f]{64})\.(\d{1,9})$/;

/** Resolves an ostree= boot path (/ostree/boot.B/OS/BOOTCSUM/N) to a deployment of `sysroot`. */
async function fromBootPath(sysroot: Sysroot, path: string): Promise<Deployment | null> {
  const m = /^\/?ostree\/(boot\.[01])\/([A-Za-z0-9_.-]+)\/([0-9a-f]{64})\/(\d{1,4})$/.exec(path);
  if (!m) throw new XylemError(`Invalid ostree= boot path '${path}'`);
  const bootdir = await readlinkOrNull(sysroot.fs, sysroot.abs(`ostree/${m[1]}`));
  if (bootdir === null || !/^boot\.[01]\.[01]$/.test(bootdir)) return null;
  const target = await readlinkOrNull(sysroot.fs, sysroot.abs(`ostree/${bootdir}/${m[2]}/${m[3]}/${m[4]}`));
  if (target === null) return null;
  const t = DEPLOY_LINK_RE.exec(target);
  if (!t) return null;
  return sysroot.deployments.find((d) => d.osname === t[1] && d.csum === t[2] && d.deployserial === Number(t[3])) ?? null;
}

/**
 * The deployment `spec` names (see the file header), or null for "none". Throws when a spec
 * names nothing in this sysroot (a typo must not silently mean "not booted").
 */
export async function resolveBootedSpec(sysroot: Sysroot, spec: string): Promise<Deployment | null> {
  if (typeof spec !== 'string' || spec.trim() === '') throw new XylemError('Empty booted-deployment specification');
  const s = spec.trim();
  if (s === 'none') return null;
  if (s.startsWith('ostree=') || s.startsWith('/ostree/') || s.startsWith('ostree/')) {
    const d = await fromBootPath(sysroot, s.startsWith('ostree=') ? s.slice('ostree='.length) : s);
    if (!d) throw new XylemError(`Booted deployment '${s}': no such boot entry in this sysroot`);
    return d;
  }
  const m = /^(?:([A-Za-z0-9_.-]+)\/)?([0-9a-f]{64})\.(\d{1,9})$/.exec(s);
  if (!m) throw new XylemError(`Invalid booted-deployment specification '${s}' (expected ostree=PATH, OS/CSUM.SERIAL or CSUM.SERIAL)`);
  const d = sysroot.deployments.find((x) => (m[1] === undefined || x.osname === m[1]) && x.csum === m[2] && x.deployserial === Number(m[3]));
  if (!d) throw new XylemError(`Booted deployment '${s}' is not in the boot loader entries of this sysroot`);
  return d;
}

export interface BootedOptions {
  /** --booted-deployment / XYLEM_BOOTED. */
  spec?: string | null;
  /** Kernel command line to apply ostree's rule to (default: XYLEM_PROC_CMDLINE, else /proc/cmdline). */
  cmdline?: string | null;
}

/**
 * Sets `sysroot.booted` by the rules in the file header. Returns how it was determined (for
 * `status -v` and debugging).
 */
export async function applyBooted(sysroot: Sysroot, opts: BootedOptions = {}): Promise<'spec' | 'root' | 'cmdline' | 'none'> {
  const spec = opts.spec ?? sysroot.host.env?.XYLEM_BOOTED ?? null;
  if (spec !== null && spec !== '') {
    sysroot.booted = await resolveBootedSpec(sysroot, spec);
    return sysroot.booted ? 'spec' : 'none';
  }
  if (sysroot.booted) return 'root';
  let cmdline = opts.cmdline ?? sysroot.host.env?.XYLEM_PROC_CMDLINE ?? null;
  if (cmdline === null) {
    try {
      const bytes = await sysroot.fs.readFile('/proc/cmdline');
      cmdline = bytes.length <= 1 << 16 ? fromUtf8(bytes) : '';
    } catch {
      cmdline = '';
    }
  }
  const arg = KernelArgs.parse(cmdline).get('ostree');
  if (typeof arg === 'string') {
    try {
      sysroot.booted = await fromBootPath(sysroot, arg);
    } catch {
      sysroot.booted = null;
    }
    if (sysroot.booted) return 'cmdline';
  }
  return 'none';
}

// Client-side initramfs for layered deployments (rpm-ostree's rpmostree-sysroot-upgrader.cxx
// perform_local_assembly and deploy): with `initramfs --enable` the assembled tree's own dracut
// runs (compose/initramfs.ts buildInitramfs, in the sandbox) with the base commit's
// `rpmostree.initramfs-args` (else `--no-hostonly`) followed by the origin's `initramfs-args`, and
// — as rpm-ostree binds the real root's /etc when regeneration is requested — the system's
// current /etc in place of the tree's defaults; the image lands at usr/lib/modules/$kver/
// initramfs.img of the layered commit, so the boot checksum changes. With `initramfs-etc` the
// tracked files become an overlay initrd (initramfs-etc.ts) staged for the new deployment.

import type { Host } from '../host.ts';
import type { Repo } from '../repo/repo.ts';
import type { Sysroot } from '../sysroot/sysroot.ts';
import { buildInitramfs } from '../compose/initramfs.ts';
import { copyEntry } from '../sysroot/fsutil.ts';
import { stageOverlayInitrdBytes } from '../sysroot/overlay-initrd.ts';
import { randomSuffix } from '../util/atomic-write.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { buildEtcOverlay } from './initramfs-etc.ts';
import type { InitramfsRequest } from './initramfs-origin.ts';

/** The one kernel of an assembled tree: usr/lib/modules/$kver holding a vmlinuz. */
export async function findKver(host: Host, root: string): Promise<string> {
  const dir = joinPath(root, 'usr/lib/modules');
  const st = await host.fs.lstat(dir);
  const found: string[] = [];
  if (st?.kind === 'dir') {
    for (const e of await host.fs.readdir(dir)) {
      if (e.kind !== 'dir') continue;
      if ((await host.fs.lstat(joinPath(dir, e.name, 'vmlinuz')))?.kind === 'file') found.push(e.name);
    }
  }
  if (found.length === 0) throw new XylemError('Regenerating the initramfs: the tree has no kernel (usr/lib/modules/$kver/vmlinuz)', 'ENOKERNEL');
  if (found.length > 1) throw new XylemError(`Regenerating the initramfs: the tree has several kernels (${found.sort().join(', ')})`, 'EINVAL');
  return found[0]!;
}

/** The base commit's `rpmostree.initramfs-args` (null when it has none). */
export async function baseInitramfsArgs(repo: Repo, baseCommit: string): Promise<string[] | null> {
  const c = await repo.loadCommit(baseCommit);
  const e = c.metadata.find(([k]) => k === 'rpmostree.initramfs-args');
  if (!e) return null;
  if (e[1].type !== 'as') throw new XylemError(`${baseCommit}: rpmostree.initramfs-args has type '${e[1].type}', expected 'as'`, 'ECORRUPT');
  return [...(e[1].value as string[])];
}

/** The dracut arguments rpm-ostree passes on a host: the base's (or --no-hostonly), then the origin's. */
export function clientDracutArgs(baseArgs: readonly string[] | null, originArgs: readonly string[]): string[] {
  return [...(baseArgs ?? ['--no-hostonly']), ...originArgs];
}

export interface RegenerateOptions {
  /** Full dracut arguments (clientDracutArgs). */
  args: readonly string[];
  /** The system's current /etc, shown to dracut instead of the tree's defaults; null: the defaults. */
  etcDir: string | null;
  sourceDateEpoch?: string;
}

/**
 * Runs the tree's dracut on an assembled root (etc already moved to usr/etc) and leaves the new
 * image at usr/lib/modules/$kver/initramfs.img. usr/etc is put back as it was afterwards.
 */
export async function regenerateInitramfs(host: Host, root: string, opts: RegenerateOptions): Promise<string> {
  const fs = host.fs;
  const kver = await findKver(host, root);
  const usrEtc = joinPath(root, 'usr/etc');
  let aside: string | null = null;
  if (opts.etcDir !== null) {
    const st = await fs.lstat(opts.etcDir);
    if (!st || st.kind !== 'dir') throw new XylemError(`Regenerating the initramfs: ${opts.etcDir}: not a directory`, 'ENOTDIR');
    if ((await fs.lstat(usrEtc))?.kind === 'dir') {
      aside = joinPath(root, 'usr', `.etc-defaults-${randomSuffix()}`);
      await fs.rename(usrEtc, aside);
    }
    await copyEntry(fs, opts.etcDir, usrEtc, { xattrs: false });
  }
  try {
    await buildInitramfs(host, root, { kver, args: opts.args, ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}) });
  } finally {
    if (opts.etcDir !== null) {
      await fs.rmrf(usrEtc);
      if (aside) await fs.rename(aside, usrEtc);
    }
  }
  return kver;
}

/** Refuses what rpm-ostree refuses before any work (prep_local_assembly). */
export function checkInitramfsRequest(r: InitramfsRequest): void {
  if (r.regenerate && r.etc.length > 0) throw new XylemError('initramfs regeneration and /etc overlay not compatible; use dracut arg -I instead', 'EINVAL');
}

/** Builds the /etc overlay of `r` from `etcDir` and stages it; answers its checksum (null: none tracked). */
export async function stageEtcOverlay(sysroot: Sysroot, etcDir: string, r: InitramfsRequest): Promise<string | null> {
  if (r.etc.length === 0) return null;
  const data = await buildEtcOverlay(sysroot.fs, etcDir, r.etc);
  return stageOverlayInitrdBytes(sysroot, data);
}

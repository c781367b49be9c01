// The initramfs of a composed tree, as rpm-ostree makes it (src/libpriv/rpmostree-postprocess.cxx
// process_kernel_and_initramfs, rpmostree-kernel.cxx rpmostree_run_dracut, rust/src/initramfs.rs):
// `depmod -a $kver`, then the tree's OWN dracut run confined (Host.sandbox, /usr and /etc
// read-only, /etc being usr/etc moved back for the run with the split passwd/group merged so dracut
// sees every user), with `--reproducible -v --add ostree --tmpdir=/tmp/dracut -f /tmp/initramfs.img`,
// the treefile's `initramfs-args` (default `--no-hostonly`) and `--kver $kver`. The image gets
// rpm-ostree's trailer — NUL padding (4 bytes plus alignment to 4) and a gzip'd newc cpio holding
// /dev/random and /dev/urandom — and lands, mode 0644, at usr/lib/modules/$kver/initramfs.img.

import { gzipSync } from 'fflate';
import type { FsHost, Host, SandboxResult } from '../host.ts';
import { randomSuffix, writeFileAtomic } from '../util/atomic-write.ts';
import { concatBytes } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { readRegular } from './postprocess.ts';

/** Wall-clock limit of one dracut (or depmod) run. */
const DRACUT_TIMEOUT_MS = 30 * 60 * 1000;
/** dracut -v is chatty: the output kept for an error message. */
const MAX_OUTPUT = 4 << 20;
/** An initramfs larger than this is refused before it is read back. */
export const MAX_INITRAMFS_BYTES = 2 * 1024 ** 3;

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The shell wrapper rpm-ostree runs dracut through: `--reproducible` only when this dracut knows
 * it, the fixed arguments, the caller's after them, and the image copied to the host-visible
 * /tmp/dracut. Run as `bash /proc/self/fd/5 ARGS…`.
 */
export const DRACUT_WRAPPER = [
  '#!/usr/bin/bash',
  'set -euo pipefail',
  'repro=',
  'if (dracut --help; true) | grep -q -e --reproducible; then repro=--reproducible; fi',
  'mkdir -p /tmp/dracut',
  'dracut $repro -v --add ostree --tmpdir=/tmp/dracut -f /tmp/initramfs.img "$@"',
  'cat /tmp/initramfs.img >/tmp/dracut/rpm-xylem-initramfs.img',
  '',
].join('\n');

/** The dracut arguments after the fixed ones: the treefile's `initramfs-args` (or `--no-hostonly`), then `--kver`. */
export function dracutArgs(initramfsArgs: readonly string[], kver: string): string[] {
  if (!Array.isArray(initramfsArgs) || !initramfsArgs.every((a) => typeof a === 'string' && !a.includes('\0'))) throw new TypeError('dracutArgs: initramfs-args must be strings');
  checkKver(kver);
  return [...(initramfsArgs.length > 0 ? initramfsArgs : ['--no-hostonly']), '--kver', kver];
}

function checkKver(kver: string): void {
  if (typeof kver !== 'string' || kver === '' || kver === '.' || kver === '..' || kver.includes('/') || kver.includes('\0'))
    throw new XylemError(`invalid kernel version '${String(kver)}'`, 'EINVAL');
}

function cpioEntry(name: string, mode: number, nlink: number, ino: number, rdev: [number, number]): Uint8Array {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  const nameBytes = enc.encode(`${name}\0`);
  const fields = [ino, mode, 0, 0, nlink, 0, 0, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
  const head = enc.encode(`070701${fields.map(hex).join('')}`);
  const used = head.length + nameBytes.length;
  return concatBytes([head, nameBytes, new Uint8Array((4 - (used % 4)) % 4)]);
}

let randomCpio: Uint8Array | null = null;

/**
 * A gzip'd newc cpio with `.`, `dev`, `dev/random` (c 1 8) and `dev/urandom` (c 1 9), owned by
 * root, mtime 0: the chunk rpm-ostree appends so that FIPS self-tests find the devices early.
 */
export function randomDevicesCpio(): Uint8Array {
  if (randomCpio) return randomCpio;
  const body = concatBytes([
    cpioEntry('.', 0o040755, 3, 1, [0, 0]),
    cpioEntry('dev', 0o040755, 2, 2, [0, 0]),
    cpioEntry('dev/random', 0o020666, 1, 3, [1, 8]),
    cpioEntry('dev/urandom', 0o020666, 1, 4, [1, 9]),
    cpioEntry('TRAILER!!!', 0, 1, 0, [0, 0]),
  ]);
  randomCpio = gzipSync(body, { level: 9, mtime: 0 });
  return randomCpio;
}

/** `image` + NUL padding (always 4 bytes, then up to 4-byte alignment) + the random-devices cpio. */
export function appendRandomDevices(image: Uint8Array): Uint8Array {
  const pad = 4 + ((4 - (image.length % 4)) % 4);
  return concatBytes([image, new Uint8Array(pad), randomDevicesCpio()]);
}

/** Streams `src` (size bytes) then rpm-ostree's trailer to `dest` atomically, mode 0644. */
async function copyWithTrailer(fs: FsHost, src: string, size: number, dest: string): Promise<void> {
  const tmp = `${dest}.tmp-${randomSuffix()}`;
  const r = await fs.openRead(src);
  const w = await fs.openWrite(tmp, { mode: 0o644, exclusive: true });
  try {
    const buf = new Uint8Array(1 << 20);
    let pos = 0;
    while (pos < size) {
      const n = await r.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (n === 0) throw new XylemError(`${src}: shorter than its ${size} bytes`, 'EIO');
      await w.write(buf.slice(0, n));
      pos += n;
    }
    await w.write(new Uint8Array(4 + ((4 - (size % 4)) % 4)));
    await w.write(randomDevicesCpio());
    await w.sync();
  } catch (e) {
    await w.close().catch(() => undefined);
    await fs.rmrf(tmp);
    throw e;
  } finally {
    await r.close();
  }
  await w.close();
  await fs.chmod(tmp, 0o644);
  await fs.rename(tmp, dest);
}

function describe(r: SandboxResult): string {
  return r.timedOut ? 'timed out' : r.signal ? `killed by signal ${r.signal}` : `exited with code ${r.exitCode}`;
}

function fail(what: string, prog: string, r: SandboxResult): XylemError {
  const out = dec.decode(r.output).replace(/\n$/, '');
  return new XylemError(`${what}: bwrap(${prog}): Child process ${describe(r)}${out ? `\n${out}` : ''}`, 'ESCRIPT');
}

async function findProgram(fs: FsHost, root: string, name: string): Promise<boolean> {
  for (const d of ['usr/sbin', 'usr/bin']) {
    const st = await fs.lstat(joinPath(root, d, name));
    if (st && (st.kind === 'file' || st.kind === 'symlink')) return true;
  }
  return false;
}

/** Appends `extra` lines whose first field is not already a name in `base` (passwd/group merge). */
function mergeEntries(base: string, extra: string): string {
  const lines = base.split('\n').filter((l) => l.trim() !== '');
  const names = new Set(lines.map((l) => l.split(':')[0]));
  for (const l of extra.split('\n')) {
    if (l.trim() === '' || names.has(l.split(':')[0])) continue;
    names.add(l.split(':')[0]);
    lines.push(l);
  }
  return lines.map((l) => `${l}\n`).join('');
}

/**
 * Runs `fn` with usr/etc moved to etc and /etc/passwd and /etc/group holding the usr/lib entries
 * too (dracut knows nothing of nss-altfiles), then restores both. The root must have no `etc` of
 * its own (the rootfs skeleton removed it).
 */
export async function withTempEtc<T>(fs: FsHost, root: string, fn: () => Promise<T>): Promise<T> {
  const usrEtc = joinPath(root, 'usr/etc');
  const etc = joinPath(root, 'etc');
  if ((await fs.lstat(usrEtc))?.kind !== 'dir') return fn();
  if (await fs.lstat(etc)) throw new XylemError(`${etc}: exists next to usr/etc; cannot prepare /etc for dracut`, 'EEXIST');
  await fs.rename(usrEtc, etc);
  const saved: Array<[string, Uint8Array | null]> = [];
  try {
    for (const f of ['passwd', 'group']) {
      const lib = await readRegular(fs, joinPath(root, 'usr/lib', f));
      if (!lib) continue;
      const cur = await readRegular(fs, joinPath(etc, f));
      saved.push([f, cur]);
      await writeFileAtomic(fs, joinPath(etc, f), enc.encode(mergeEntries(cur ? dec.decode(cur) : '', dec.decode(lib))), { mode: 0o644 });
    }
    return await fn();
  } finally {
    for (const [f, data] of saved) {
      if (data) await writeFileAtomic(fs, joinPath(etc, f), data, { mode: 0o644 });
      else await fs.rmrf(joinPath(etc, f));
    }
    await fs.rename(etc, usrEtc);
  }
}

export interface InitramfsOptions {
  kver: string;
  /** The treefile's `initramfs-args`. */
  args: readonly string[];
  /** SOURCE_DATE_EPOCH for dracut (reproducible images), when set. */
  sourceDateEpoch?: string;
  /** DRACUT_NO_XATTR passed through when set (as upstream). */
  dracutNoXattr?: string;
}

/**
 * Makes usr/lib/modules/$kver/initramfs.img of `root` with the root's own depmod and dracut in
 * the host's sandbox. A tree without dracut is an error naming the fix (`no-initramfs: true`).
 */
export async function buildInitramfs(host: Host, root: string, opts: InitramfsOptions): Promise<void> {
  const fs = host.fs;
  checkKver(opts.kver);
  const args = dracutArgs(opts.args, opts.kver);
  if (!host.sandbox) throw new XylemError('Running dracut needs a sandbox (Host.sandbox: bubblewrap); set `no-initramfs: true` to keep the packaged initramfs', 'ENOSANDBOX');
  if (!(await findProgram(fs, root, 'dracut')))
    throw new XylemError(
      `The tree has a kernel (usr/lib/modules/${opts.kver}) and no dracut: rpm-ostree makes the initramfs with the tree's own dracut. Add dracut to \`packages\`, or set \`no-initramfs: true\``,
      'ENODRACUT',
    );
  const env: Record<string, string> = { PATH: '/usr/sbin:/usr/bin', LANG: 'C', DRACUT_NO_MKNOD: '1' };
  if (opts.sourceDateEpoch !== undefined) {
    if (!/^\d+$/.test(opts.sourceDateEpoch)) throw new XylemError(`dracut: SOURCE_DATE_EPOCH must be decimal seconds, not ${JSON.stringify(opts.sourceDateEpoch)}`, 'EINVAL');
    env.SOURCE_DATE_EPOCH = opts.sourceDateEpoch;
  }
  if (opts.dracutNoXattr !== undefined && !opts.dracutNoXattr.includes('\0')) env.DRACUT_NO_XATTR = opts.dracutNoXattr;
  const base = { root, env, mutability: 'readonly' as const, timeoutMs: DRACUT_TIMEOUT_MS, maxOutputBytes: MAX_OUTPUT };
  // Upstream's tmpdir sits in the target root's filesystem (dracut copies xattrs).
  const tmpd = joinPath(root, `rpmostree-dracut.${randomSuffix()}`);
  await fs.mkdir(tmpd, { mode: 0o700 });
  try {
    await withTempEtc(fs, root, async () => {
      if (await findProgram(fs, root, 'depmod')) {
        const r = await host.sandbox!.run({ ...base, argv: ['depmod', '-a', opts.kver] });
        if (r.exitCode !== 0) throw fail(`Running depmod for ${opts.kver}`, 'depmod', r);
      }
      const r = await host.sandbox!.run({
        ...base,
        argv: ['/usr/bin/bash', '/proc/self/fd/5', ...args],
        script: enc.encode(DRACUT_WRAPPER),
        binds: [{ source: tmpd, dest: '/tmp/dracut', writable: true }],
      });
      if (r.exitCode !== 0) throw fail(`Running dracut for ${opts.kver}`, 'dracut', r);
    });
    const out = joinPath(tmpd, 'rpm-xylem-initramfs.img');
    const st = await fs.lstat(out);
    if (st?.kind !== 'file') throw new XylemError(`Running dracut for ${opts.kver}: no initramfs was written`, 'ENOENT');
    if (st.size > MAX_INITRAMFS_BYTES) throw new XylemError(`Running dracut for ${opts.kver}: the initramfs is ${st.size} bytes, over the limit of ${MAX_INITRAMFS_BYTES}`, 'E2BIG');
    const dest = joinPath(root, 'usr/lib/modules', opts.kver, 'initramfs.img');
    await copyWithTrailer(fs, out, st.size, dest);
  } finally {
    await fs.rmrf(tmpd);
  }
}

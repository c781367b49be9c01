// Finding a deployment's kernel the way libostree does: usr/lib/modules/KVER/vmlinuz (+
// initramfs.img, .vmlinuz.hmac, devicetree, dtb/), else the legacy usr/lib/ostree-boot/ or boot/
// with vmlinuz-KVER-BOOTCSUM names; and the boot checksum that names boot/ostree/OS-BOOTCSUM.

import type { FsHost } from '../host.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { toHex } from '../util/bytes.ts';
import type { Sha256 } from '../host.ts';

/** One file to install into boot/ostree/OS-BOOTCSUM/. */
export interface BootFile {
  /** Path inside the deployment. */
  src: string;
  /** Name under boot/ostree/OS-BOOTCSUM/. */
  dest: string;
}

export interface KernelLayout {
  /** Where the files were found (relative to the deployment root). */
  bootdir: string;
  kernel: BootFile;
  initramfs: BootFile | null;
  devicetree: BootFile | null;
  /** .vmlinuz-KVER.hmac (FIPS), copied along. */
  hmac: BootFile | null;
  /** A dtb/ folder (copied recursively as dtb/), if any. */
  dtbDir: BootFile | null;
  kver: string | null;
  /** Known from the file names in the legacy layouts; computed otherwise. */
  bootcsum: string | null;
}

async function isFile(fs: FsHost, path: string): Promise<boolean> {
  const st = await fs.stat(path);
  return st?.kind === 'file';
}

async function fromModules(fs: FsHost, root: string): Promise<KernelLayout | null> {
  const modules = joinPath(root, 'usr/lib/modules');
  const st = await fs.stat(modules);
  if (!st || st.kind !== 'dir') return null;
  const entries = (await fs.readdir(modules)).map((e) => e.name).sort();
  for (const kver of entries) {
    const dir = `usr/lib/modules/${kver}`;
    if (!(await isFile(fs, joinPath(root, dir, 'vmlinuz')))) continue;
    const layout: KernelLayout = {
      bootdir: dir,
      kernel: { src: `${dir}/vmlinuz`, dest: `vmlinuz-${kver}` },
      initramfs: null,
      devicetree: null,
      hmac: null,
      dtbDir: null,
      kver,
      bootcsum: null,
    };
    if (await isFile(fs, joinPath(root, dir, 'initramfs.img'))) layout.initramfs = { src: `${dir}/initramfs.img`, dest: `initramfs-${kver}.img` };
    if (await isFile(fs, joinPath(root, dir, 'devicetree'))) layout.devicetree = { src: `${dir}/devicetree`, dest: `devicetree-${kver}` };
    if (await isFile(fs, joinPath(root, dir, '.vmlinuz.hmac'))) layout.hmac = { src: `${dir}/.vmlinuz.hmac`, dest: `.vmlinuz-${kver}.hmac` };
    const dtb = await fs.stat(joinPath(root, dir, 'dtb'));
    if (dtb?.kind === 'dir') layout.dtbDir = { src: `${dir}/dtb`, dest: 'dtb' };
    return layout;
  }
  return null;
}

/** Legacy layout: vmlinuz-KVER-BOOTCSUM, initramfs-KVER.img-BOOTCSUM, devicetree-KVER-BOOTCSUM. */
async function fromLegacyDir(fs: FsHost, root: string, dir: string): Promise<KernelLayout | null> {
  const full = joinPath(root, dir);
  const st = await fs.stat(full);
  if (!st || st.kind !== 'dir') return null;
  let kernel: string | null = null;
  let initramfs: string | null = null;
  let devicetree: string | null = null;
  for (const e of (await fs.readdir(full)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.kind !== 'file') continue;
    if (e.name.startsWith('vmlinuz-') && !kernel) kernel = e.name;
    else if ((e.name.startsWith('initramfs-') || e.name.startsWith('initrd-')) && !initramfs) initramfs = e.name;
    else if (e.name.startsWith('devicetree-') && !devicetree) devicetree = e.name;
  }
  if (!kernel) return null;
  const strip = (name: string): { base: string; csum: string | null } => {
    const m = /^(.*)-([0-9a-f]{64})$/.exec(name);
    return m ? { base: m[1]!, csum: m[2]! } : { base: name, csum: null };
  };
  const k = strip(kernel);
  const layout: KernelLayout = {
    bootdir: dir,
    kernel: { src: `${dir}/${kernel}`, dest: k.base },
    initramfs: null,
    devicetree: null,
    hmac: null,
    dtbDir: null,
    kver: k.base.startsWith('vmlinuz-') ? k.base.slice('vmlinuz-'.length) : null,
    bootcsum: k.csum,
  };
  if (initramfs) {
    const i = strip(initramfs);
    if (k.csum && i.csum && i.csum !== k.csum) throw new XylemError(`Mismatched kernel checksum vs initrd in ${dir}`);
    layout.initramfs = { src: `${dir}/${initramfs}`, dest: i.base };
  }
  if (devicetree) layout.devicetree = { src: `${dir}/${devicetree}`, dest: strip(devicetree).base };
  return layout;
}

/**
 * Locates the kernel of the tree at `root` (a deployment or checkout). Errors like libostree
 * when there is none.
 */
export async function findKernel(fs: FsHost, root: string, opts: { noDtb?: boolean } = {}): Promise<KernelLayout> {
  const modules = await fromModules(fs, root);
  if (modules && opts.noDtb) modules.dtbDir = null;
  const legacy = (await fromLegacyDir(fs, root, 'usr/lib/ostree-boot')) ?? (await fromLegacyDir(fs, root, 'boot'));
  // Both: usr/lib/modules wins, unless only the legacy one comes with an initramfs.
  const found = modules && legacy ? (!modules.initramfs && legacy.initramfs ? legacy : modules) : (modules ?? legacy);
  if (!found) throw new XylemError('Failed to find kernel in /usr/lib/modules, /usr/lib/ostree-boot or /boot');
  return found;
}

/** Files of a dtb/ folder, depth first, names sorted (the order they are checksummed in). */
async function dtbFiles(fs: FsHost, dir: string, out: string[], depth = 0): Promise<void> {
  if (depth > 16) throw new XylemError(`${dir}: dtb folder nested too deeply`);
  const entries = (await fs.readdir(dir)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = joinPath(dir, e.name);
    if (e.kind === 'dir') await dtbFiles(fs, p, out, depth + 1);
    else if (e.kind === 'file') out.push(p);
  }
}

/** sha256 over kernel ‖ initramfs ‖ devicetree ‖ dtb/ files (streamed in 1 MiB reads). */
export async function computeBootcsum(fs: FsHost, root: string, layout: KernelLayout, hash: Sha256): Promise<string> {
  const buf = new Uint8Array(1 << 20);
  const paths: string[] = [];
  for (const f of [layout.kernel, layout.initramfs, layout.devicetree]) if (f) paths.push(joinPath(root, f.src));
  if (layout.dtbDir) await dtbFiles(fs, joinPath(root, layout.dtbDir.src), paths);
  for (const path of paths) {
    const h = await fs.openRead(path);
    try {
      let pos = 0;
      for (;;) {
        const n = await h.read(buf, 0, buf.length, pos);
        if (n <= 0) break;
        hash.update(buf.subarray(0, n));
        pos += n;
      }
    } finally {
      await h.close();
    }
  }
  return toHex(hash.digest());
}

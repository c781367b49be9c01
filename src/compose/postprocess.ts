// rpm-ostree's postprocessing of an assembled root (rust/src/composepost.rs, passwd.rs; reference
// note rpm-packages.md §7.3): rpmdb links and macro, `etc` → `usr/etc`, nss-altfiles in
// nsswitch.conf, the passwd/group split into /usr/lib, the rootfs skeleton, /var turned into
// tmpfiles.d lines (and the packages' snippets merged), the kernel moved to
// usr/lib/modules/$kver, units and default target. Treefile steps (remove-files, add-files,
// remove-from-packages) live in treefile-steps.ts. Every step acts on the root through FsHost only.

import type { FsHost } from '../host.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { XylemError } from '../util/errors.ts';
import { dirname, joinPath } from '../util/path.ts';
import { normalizePath } from './treefile.ts';
import { tmpfilesQuote } from './translate.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A tree file's bytes, or null when absent. Never follows a symlink: the tree comes from packages,
 * and a link pointing at a host file (/etc/shadow) must not pull host data into the commit.
 */
export async function readRegular(fs: FsHost, p: string): Promise<Uint8Array | null> {
  const st = await fs.lstat(p);
  if (!st) return null;
  if (st.kind !== 'file') throw new XylemError(`${p}: expected a regular file in the tree, found a ${st.kind}`, 'EUNSAFEPATH');
  return fs.readFile(p);
}

/**
 * The regular file `rel` (relative to `root`) names, following symlinks the way they resolve once
 * the tree is booted — inside the root, with /etc meaning usr/etc — and never out of it; null when
 * absent. authselect makes /etc/nsswitch.conf such a link.
 */
export async function resolveInRoot(fs: FsHost, root: string, rel: string): Promise<string | null> {
  let cur = normalizePath(rel);
  for (let hop = 0; hop < 16; hop++) {
    if (cur === '.' || cur.startsWith('..') || cur.startsWith('/')) throw new XylemError(`/${rel}: resolves outside the tree`, 'EUNSAFEPATH');
    await checkRealDirs(fs, root, [dirname(cur)]);
    const full = joinPath(root, cur);
    const st = await fs.lstat(full);
    if (!st) return null;
    if (st.kind === 'file') return full;
    if (st.kind !== 'symlink') throw new XylemError(`/${cur}: expected a regular file in the tree, found a ${st.kind}`, 'EUNSAFEPATH');
    const target = await fs.readlink(full);
    // A relative link resolves from where the file is once booted: usr/etc/x is /etc/x.
    const booted = cur === 'usr/etc' || cur.startsWith('usr/etc/') ? cur.slice(4) : cur;
    let next = normalizePath(target.startsWith('/') ? target.slice(1) : joinPath(dirname(booted), target));
    if (next === 'etc' || next.startsWith('etc/')) next = `usr/${next}`;
    cur = next;
  }
  throw new XylemError(`/${rel}: too many levels of symbolic links`, 'ELOOP');
}

/**
 * Refuses a tree whose well-known directories are symlinks or files: postprocessing writes under
 * them, and a link planted by a package (usr/etc → /etc) would make it write on the host.
 */
export async function checkRealDirs(fs: FsHost, root: string, rels: readonly string[]): Promise<void> {
  for (const rel of rels) {
    let p = root;
    for (const c of rel.split('/')) {
      p = joinPath(p, c);
      const st = await fs.lstat(p);
      if (!st) break;
      if (st.kind !== 'dir') throw new XylemError(`/${rel}: ${p.slice(root.length)} is a ${st.kind} in the assembled tree, not a directory`, 'EUNSAFEPATH');
    }
  }
}

/** The directories postprocessing writes under. */
export const POSTPROCESS_DIRS = [
  'usr/etc/systemd/system',
  'usr/lib/tmpfiles.d',
  'usr/lib/rpm-ostree/tmpfiles.d',
  'usr/lib/modules',
  'usr/lib/ostree-boot',
  'usr/lib/rpm/macros.d',
  'usr/lib/sysimage',
  'usr/share/rpm',
  'var/lib',
];

async function exists(fs: FsHost, p: string): Promise<boolean> {
  return (await fs.lstat(p)) !== null;
}

async function writeText(fs: FsHost, path: string, text: string, mode = 0o644): Promise<void> {
  await writeFileAtomic(fs, path, enc.encode(text), { mode });
  await fs.chmod(path, mode);
}

async function symlinkFresh(fs: FsHost, target: string, path: string): Promise<void> {
  await fs.rmrf(path);
  await fs.symlink(target, path);
}

/** Moves every entry of `from` into `to` (merging directories); `from` is removed. */
async function mergeMove(fs: FsHost, from: string, to: string): Promise<void> {
  const st = await fs.lstat(to);
  if (!st) {
    await fs.rename(from, to);
    return;
  }
  if (st.kind !== 'dir') throw new XylemError(`${to}: not a directory, cannot merge ${from} into it`, 'ENOTDIR');
  for (const e of await fs.readdir(from)) {
    const src = joinPath(from, e.name);
    const dst = joinPath(to, e.name);
    const d = await fs.lstat(dst);
    if (e.kind === 'dir' && d?.kind === 'dir') await mergeMove(fs, src, dst);
    else {
      if (d) await fs.rmrf(dst);
      await fs.rename(src, dst);
    }
  }
  await fs.rmdir(from);
}

/** rpmdb compat links and macro file (the db itself is written at usr/share/rpm). */
export async function rpmdbLinks(fs: FsHost, root: string): Promise<void> {
  await fs.mkdir(joinPath(root, 'usr/share/rpm'), { recursive: true, mode: 0o755 });
  await fs.mkdir(joinPath(root, 'usr/lib/sysimage'), { recursive: true, mode: 0o755 });
  await symlinkFresh(fs, '../../share/rpm', joinPath(root, 'usr/lib/sysimage/rpm'));
  await fs.mkdir(joinPath(root, 'var/lib'), { recursive: true, mode: 0o755 });
  await symlinkFresh(fs, '../../usr/share/rpm', joinPath(root, 'var/lib/rpm'));
  await fs.mkdir(joinPath(root, 'usr/lib/rpm/macros.d'), { recursive: true, mode: 0o755 });
  await writeText(fs, joinPath(root, 'usr/lib/rpm/macros.d/macros.rpm-ostree'), '%_dbpath /usr/share/rpm\n');
  // The rpmdb's lock and WAL side files never belong in a commit.
  for (const f of ['.rpm.lock', '.dbenv.lock', 'rpmdb.sqlite-shm', 'rpmdb.sqlite-wal']) await fs.rmrf(joinPath(root, 'usr/share/rpm', f));
  for (const e of await fs.readdir(joinPath(root, 'usr/share/rpm'))) if (e.name.startsWith('__db.')) await fs.rmrf(joinPath(root, 'usr/share/rpm', e.name));
}

/** `etc` → `usr/etc` (merged when both exist). */
export async function moveEtc(fs: FsHost, root: string): Promise<void> {
  const etc = joinPath(root, 'etc');
  const st = await fs.lstat(etc);
  if (!st) return;
  if (st.kind !== 'dir') {
    await fs.unlink(etc);
    return;
  }
  await fs.mkdir(joinPath(root, 'usr'), { recursive: true, mode: 0o755 });
  await mergeMove(fs, etc, joinPath(root, 'usr/etc'));
}

/** `passwd:` and `group:` lines get `altfiles` right after `files` (when missing). */
export function addAltfiles(nsswitch: string): string {
  return nsswitch
    .split('\n')
    .map((l) => {
      const m = /^(\s*(?:passwd|group):)(.*)$/.exec(l);
      if (!m) return l;
      const words = m[2]!.trim().split(/\s+/);
      if (words.includes('altfiles')) return l;
      const i = words.indexOf('files');
      if (i < 0) return l;
      return m[1] + m[2]!.replace(/(^|\s)files(?=\s|$)/, '$1files altfiles');
    })
    .join('\n');
}

export async function nsswitchAltfiles(fs: FsHost, root: string): Promise<void> {
  const p = await resolveInRoot(fs, root, 'usr/etc/nsswitch.conf');
  if (!p) return;
  const data = await readRegular(fs, p);
  if (!data) return;
  const before = dec.decode(data);
  const after = addAltfiles(before);
  if (after !== before) await writeText(fs, p, after);
}

/**
 * The passwd/group split: usr/etc/passwd keeps uid 0, the rest goes to usr/lib/passwd; usr/etc/group
 * keeps gid 0 and `etcGroupMembers` (those are also written to usr/lib/group). Backup files go.
 */
export async function splitPasswd(fs: FsHost, root: string, etcGroupMembers: readonly string[]): Promise<void> {
  for (const [file, keep] of [
    ['passwd', (f: string[]) => f[2] === '0'],
    ['group', (f: string[]) => f[2] === '0' || etcGroupMembers.includes(f[0]!)],
  ] as const) {
    const p = joinPath(root, 'usr/etc', file);
    const data = await readRegular(fs, p);
    if (!data) continue;
    const lines = dec.decode(data).split('\n').filter((l) => l.trim() !== '');
    const etc: string[] = [];
    const lib: string[] = [];
    for (const l of lines) {
      const f = l.split(':');
      if (keep(f)) {
        etc.push(l);
        if (file === 'group' && f[2] !== '0') lib.push(l);
      } else lib.push(l);
    }
    await writeText(fs, p, etc.map((l) => `${l}\n`).join(''));
    await writeText(fs, joinPath(root, 'usr/lib', file), lib.map((l) => `${l}\n`).join(''));
  }
  for (const b of ['passwd-', 'shadow-', 'group-', 'gshadow-', 'subuid-', 'subgid-']) await fs.rmrf(joinPath(root, 'usr/etc', b));
}

/** Name lookups for tmpfiles lines, from the tree's passwd/group (usr/etc and usr/lib). */
export async function readIds(fs: FsHost, root: string): Promise<{ users: Map<number, string>; groups: Map<number, string>; uids: Map<string, number>; gids: Map<string, number> }> {
  const users = new Map<number, string>();
  const groups = new Map<number, string>();
  const uids = new Map<string, number>();
  const gids = new Map<string, number>();
  for (const dir of ['usr/etc', 'usr/lib', 'etc']) {
    for (const [file, byId, byName] of [
      ['passwd', users, uids],
      ['group', groups, gids],
    ] as const) {
      const data = await readRegular(fs, joinPath(root, dir, file));
      if (!data) continue;
      for (const l of dec.decode(data).split('\n')) {
        const f = l.split(':');
        if (f.length < 3 || !/^\d+$/.test(f[2]!)) continue;
        const id = Number(f[2]);
        if (!byId.has(id)) byId.set(id, f[0]!);
        if (!byName.has(f[0]!)) byName.set(f[0]!, id);
      }
    }
  }
  return { users, groups, uids, gids };
}

/**
 * /var content → `usr/lib/tmpfiles.d/rpm-ostree-1-autovar.conf` (sorted unique lines; regular
 * files dropped, except under var/lib/nfs), then `var` emptied.
 */
export async function varToTmpfiles(fs: FsHost, root: string): Promise<number> {
  const varDir = joinPath(root, 'var');
  const st = await fs.lstat(varDir);
  if (!st || st.kind !== 'dir') return 0;
  const ids = await readIds(fs, root);
  const lines = new Set<string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of await fs.readdir(dir)) {
      const p = joinPath(dir, e.name);
      const r = `${rel}/${e.name}`;
      const s = (await fs.lstat(p))!;
      const user = ids.users.get(s.uid) ?? String(s.uid);
      const group = ids.groups.get(s.gid) ?? String(s.gid);
      const mode = (s.mode & 0o7777).toString(8).padStart(4, '0');
      if (s.kind === 'dir') {
        lines.add(`d ${tmpfilesQuote(r)} ${mode} ${user} ${group} - -`);
        await walk(p, r);
      } else if (s.kind === 'symlink') lines.add(`L ${tmpfilesQuote(r)} - - - - ${await fs.readlink(p)}`);
      else if (s.kind === 'file' && r.startsWith('/var/lib/nfs/')) lines.add(`f ${tmpfilesQuote(r)} ${mode} ${user} ${group} - -`);
    }
  };
  await walk(varDir, '/var');
  for (const e of await fs.readdir(varDir)) await fs.rmrf(joinPath(varDir, e.name));
  if (lines.size === 0) return 0;
  await fs.mkdir(joinPath(root, 'usr/lib/tmpfiles.d'), { recursive: true, mode: 0o755 });
  await writeText(fs, joinPath(root, 'usr/lib/tmpfiles.d/rpm-ostree-1-autovar.conf'), [...lines].sort().map((l) => `${l}\n`).join(''));
  return lines.size;
}

function tmpfilesPath(line: string): string | null {
  const m = /^\S+\s+("(?:[^"\\]|\\.)*"|\S+)/.exec(line.trim());
  if (!m || line.trim().startsWith('#')) return null;
  return m[1]!.startsWith('"') ? JSON.parse(m[1]!) : m[1]!;
}

/**
 * The packages' snippets (usr/lib/rpm-ostree/tmpfiles.d/*.conf) merged into
 * `usr/lib/tmpfiles.d/rpm-ostree-autovar.conf`: one line per path sorted by path, leaving out paths
 * another tmpfiles.d file already declares. The snippet folder is removed.
 */
export async function mergePackageTmpfiles(fs: FsHost, root: string): Promise<number> {
  const snippets = joinPath(root, 'usr/lib/rpm-ostree/tmpfiles.d');
  const st = await fs.lstat(snippets);
  if (!st || st.kind !== 'dir') return 0;
  const declared = new Set<string>();
  const sysDir = joinPath(root, 'usr/lib/tmpfiles.d');
  if (await exists(fs, sysDir))
    for (const e of await fs.readdir(sysDir)) {
      if (!e.name.endsWith('.conf') || e.name === 'rpm-ostree-autovar.conf') continue;
      // Only regular files: a link here (a mask to /dev/null) declares nothing.
      if ((await fs.lstat(joinPath(sysDir, e.name)))?.kind !== 'file') continue;
      const data = await readRegular(fs, joinPath(sysDir, e.name));
      if (!data) continue;
      for (const l of dec.decode(data).split('\n')) {
        const p = tmpfilesPath(l);
        if (p) declared.add(p);
      }
    }
  const byPath = new Map<string, string>();
  const names = (await fs.readdir(snippets)).map((e) => e.name).filter((n) => n.endsWith('.conf')).sort();
  for (const n of names) {
    const data = await readRegular(fs, joinPath(snippets, n));
    if (!data) continue;
    for (const l of dec.decode(data).split('\n')) {
      const p = tmpfilesPath(l);
      if (p && !declared.has(p) && !byPath.has(p)) byPath.set(p, l.trim());
    }
  }
  await fs.rmrf(joinPath(root, 'usr/lib/rpm-ostree/tmpfiles.d'));
  if ((await fs.readdir(joinPath(root, 'usr/lib/rpm-ostree'))).length === 0) await fs.rmdir(joinPath(root, 'usr/lib/rpm-ostree'));
  if (byPath.size === 0) return 0;
  await fs.mkdir(sysDir, { recursive: true, mode: 0o755 });
  const body = [...byPath.keys()].sort().map((p) => `${byPath.get(p)}\n`).join('');
  await writeText(fs, joinPath(sysDir, 'rpm-ostree-autovar.conf'), `# This file was generated by rpm-ostree.\n${body}`);
  return byPath.size;
}

/** Options of the rootfs skeleton. */
export interface SkeletonOptions {
  tmpIsDir: boolean;
}

const KEEP_TOP = new Set(['usr', 'boot', 'var', 'bin', 'sbin', 'lib', 'lib64', 'lib32']);

/** The ostree root layout: only usr, boot, var and the compat links stay; the rest is made anew. */
export async function rootfsSkeleton(fs: FsHost, root: string, opts: SkeletonOptions): Promise<void> {
  for (const e of await fs.readdir(root)) {
    if (KEEP_TOP.has(e.name)) continue;
    await fs.rmrf(joinPath(root, e.name));
  }
  for (const d of ['dev', 'proc', 'run', 'sys', 'var', 'sysroot']) {
    if (!(await exists(fs, joinPath(root, d)))) await fs.mkdir(joinPath(root, d), { mode: 0o755 });
    await fs.chmod(joinPath(root, d), 0o755);
  }
  if (opts.tmpIsDir) {
    await fs.mkdir(joinPath(root, 'tmp'), { mode: 0o1777 });
    await fs.chmod(joinPath(root, 'tmp'), 0o1777);
  } else await fs.symlink('sysroot/tmp', joinPath(root, 'tmp'));
  const links: Array<[string, string]> = [
    ['home', 'var/home'],
    ['root', 'var/roothome'],
    ['ostree', 'sysroot/ostree'],
    ['srv', 'var/srv'],
    ['mnt', 'var/mnt'],
    ['media', 'run/media'],
    ['opt', 'var/opt'],
  ];
  for (const [name, target] of links) await symlinkFresh(fs, target, joinPath(root, name));
  if (await exists(fs, joinPath(root, 'usr'))) await symlinkFresh(fs, '../var/usrlocal', joinPath(root, 'usr/local'));
}

/** The kernel and initramfs found in the tree (usr/lib/modules/$kver or /boot), or null. */
export interface KernelInfo {
  kver: string;
  vmlinuz: string;
  initramfs: string | null;
}

/**
 * Puts the kernel at usr/lib/modules/$kver/vmlinuz (+ initramfs.img) — moving it from
 * usr/lib/ostree-boot (where /boot lands) when a package installed it there — then lets
 * `prepareBoot` make the initramfs (dracut, initramfs.ts) and, for boot-location `new`, copies
 * both to usr/lib/ostree-boot/vmlinuz-$kver-$bootcsum.
 */
export async function placeKernel(
  fs: FsHost,
  root: string,
  bootLocation: 'new' | 'modules' | 'kernel-install',
  sha256: () => { update(d: Uint8Array): void; digest(): Uint8Array },
  prepareBoot?: (kver: string) => Promise<void>,
): Promise<KernelInfo | null> {
  const bootDir = joinPath(root, 'usr/lib/ostree-boot');
  if (await exists(fs, bootDir)) {
    for (const e of await fs.readdir(bootDir)) {
      const m = /^vmlinuz-(.+)$/.exec(e.name);
      if (!m || e.kind !== 'file') continue;
      const kver = m[1]!;
      const modDir = joinPath(root, 'usr/lib/modules', kver);
      await fs.mkdir(modDir, { recursive: true, mode: 0o755 });
      if (!(await exists(fs, joinPath(modDir, 'vmlinuz')))) await fs.rename(joinPath(bootDir, e.name), joinPath(modDir, 'vmlinuz'));
      const initrd = joinPath(bootDir, `initramfs-${kver}.img`);
      if ((await fs.lstat(initrd))?.kind === 'file' && !(await exists(fs, joinPath(modDir, 'initramfs.img')))) await fs.rename(initrd, joinPath(modDir, 'initramfs.img'));
    }
  }
  const modules = joinPath(root, 'usr/lib/modules');
  if (!(await exists(fs, modules))) return null;
  const kvers: string[] = [];
  for (const e of await fs.readdir(modules)) if (e.kind === 'dir' && (await fs.lstat(joinPath(modules, e.name, 'vmlinuz')))?.kind === 'file') kvers.push(e.name);
  if (kvers.length === 0) return null;
  if (kvers.length > 1) throw new XylemError(`Multiple kernels found in usr/lib/modules: ${kvers.sort().join(', ')}`, 'EMULTIKERNEL');
  const kver = kvers[0]!;
  if (prepareBoot) await prepareBoot(kver);
  const vmlinuz = joinPath(modules, kver, 'vmlinuz');
  const initramfsPath = joinPath(modules, kver, 'initramfs.img');
  const initramfs = (await fs.lstat(initramfsPath))?.kind === 'file' ? initramfsPath : null;
  if (bootLocation === 'new') {
    const h = sha256();
    h.update(await fs.readFile(vmlinuz));
    if (initramfs) h.update(await fs.readFile(initramfs));
    let csum = '';
    for (const b of h.digest()) csum += b.toString(16).padStart(2, '0');
    await fs.mkdir(bootDir, { recursive: true, mode: 0o755 });
    await fs.copyFile(vmlinuz, joinPath(bootDir, `vmlinuz-${kver}-${csum}`));
    await fs.chmod(joinPath(bootDir, `vmlinuz-${kver}-${csum}`), 0o755);
    if (initramfs) {
      await fs.copyFile(initramfs, joinPath(bootDir, `initramfs-${kver}.img-${csum}`));
      await fs.chmod(joinPath(bootDir, `initramfs-${kver}.img-${csum}`), 0o644);
    }
  }
  return { kver, vmlinuz, initramfs };
}

/** `units` enabled as rpm-ostree does (multi-user.target.wants links) and `default-target`. */
export async function enableUnits(fs: FsHost, root: string, units: readonly string[], defaultTarget: string | null): Promise<void> {
  const sysd = joinPath(root, 'usr/etc/systemd/system');
  for (const u of units) {
    if (u.includes('/') || u === '' || u.startsWith('.')) throw new XylemError(`units: invalid unit name '${u}'`, 'EINVAL');
    const wants = joinPath(sysd, 'multi-user.target.wants');
    await fs.mkdir(wants, { recursive: true, mode: 0o755 });
    await symlinkFresh(fs, `/usr/lib/systemd/system/${u}`, joinPath(wants, u));
  }
  if (defaultTarget !== null) {
    if (defaultTarget.includes('/') || defaultTarget === '') throw new XylemError(`default-target: invalid unit name '${defaultTarget}'`, 'EINVAL');
    await fs.mkdir(sysd, { recursive: true, mode: 0o755 });
    await symlinkFresh(fs, `/usr/lib/systemd/system/${defaultTarget}`, joinPath(sysd, 'default.target'));
  }
}

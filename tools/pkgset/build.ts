// Builds the demo's package set: a small real OS userland (bash, coreutils, grep, sed, … and the
// libraries they link) downloaded from Debian's mirrors with `apt-get download`, repackaged as
// RPMs (tools/pkgset/deb-spec.ts writes the spec files; rpmbuild packs them), plus a few small test
// packages (filesystem layout and /bin/sh, os-release, a kernel, a systemd unit, a %post), made
// into rpm-md repositories with createrepo_c:
//   DIR/v1/          every package, first version
//   DIR/v2/          the same, with ONE package (BUMPED) rebuilt with a higher release
//   DIR/manifest.json  { packages, bumped: { name, from, to } }
// Cached on the machine by the package list, the mirror's versions and hashes of the debs and this
// builder's sources, in $XYLEM_PKGSET_CACHE (default /var/cache/xylem-pkgset; ~/.cache/xylem-pkgset
// when not root): the first run takes
// a minute, later ones print the cached folder at once. Prints DIR on stdout; progress on stderr.
// Usage: node --import tsx tools/pkgset/build.ts [--print-key]

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDropped, parseControl, PkgsetError, specForDeb, specForTest, usrMergedPath, type DebControl, type PkgEntry, type TestPackage } from './deb-spec.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Debian packages of the set: a shell, the core utilities and every library they need. */
export const DEBS = ['bash', 'coreutils', 'grep', 'sed', 'gzip', 'findutils', 'tar', 'libc6', 'libgcc-s1', 'libtinfo6', 'libacl1', 'libattr1', 'libgmp10', 'libselinux1', 'libpcre2-8-0'];
/** What rpmbuild's ELF generators make other packages require but no file of Debian's shows (Fedora's glibc.spec declares it). */
const EXTRA_PROVIDES: Record<string, string[]> = { libc6: ['rtld(GNU_HASH)'] };
/** The package the upgrade step bumps (its release gets ".1"). */
export const BUMPED = 'sed';

const KVER = '6.1.0-xylem-demo';
/** The small packages the set adds. demo-release pulls in the rest through its Requires. */
export const TESTS: TestPackage[] = [
  {
    name: 'demo-filesystem',
    version: '1.0',
    release: '1',
    summary: 'The merged-/usr layout, /bin/sh and the base users of the demo OS',
    provides: ['/bin/sh'],
    requires: ['bash'],
    files: [
      { path: '/bin', symlink: 'usr/bin' },
      { path: '/sbin', symlink: 'usr/sbin' },
      { path: '/lib', symlink: 'usr/lib' },
      { path: '/lib64', symlink: 'usr/lib64' },
      { path: '/usr/bin/sh', symlink: 'bash' },
      { path: '/etc/passwd', content: 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n', config: true },
      { path: '/etc/group', content: 'root:x:0:\nwheel:x:10:\nnogroup:x:65534:\n', config: true },
      { path: '/etc/nsswitch.conf', content: 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n', config: true },
    ],
  },
  {
    name: 'demo-release',
    version: '1',
    release: '1',
    summary: 'os-release of the Xylem demo OS',
    requires: ['demo-filesystem', 'coreutils', 'grep', 'sed', 'gzip', 'findutils', 'tar', 'demo-kernel', 'demo-hello', 'demo-motd'],
    provides: ['system-release'],
    files: [
      { path: '/usr/lib/os-release', content: 'NAME="Xylem Demo"\nID=xylem-demo\nVERSION_ID=1\nPRETTY_NAME="Xylem Demo OS (composed from Debian binaries)"\n' },
      { path: '/etc/os-release', symlink: '../usr/lib/os-release' },
    ],
  },
  {
    name: 'demo-kernel',
    version: '6.1.0',
    release: '1',
    summary: 'A stand-in kernel and initramfs where ostree looks for them',
    files: [
      { path: `/usr/lib/modules/${KVER}/vmlinuz`, content: 'demo kernel image\n' },
      { path: `/usr/lib/modules/${KVER}/initramfs.img`, content: 'demo initramfs\n' },
    ],
  },
  {
    name: 'demo-hello',
    version: '1.0',
    release: '1',
    summary: 'A script and the systemd unit that runs it',
    requires: ['/bin/sh', 'coreutils'],
    files: [
      { path: '/usr/bin/hello', content: '#!/bin/sh\necho "hello from $(uname -s), composed by xylem"\n', mode: 0o755 },
      { path: '/usr/lib/systemd/system/hello.service', content: '[Unit]\nDescription=Say hello\n\n[Service]\nType=oneshot\nExecStart=/usr/bin/hello\n\n[Install]\nWantedBy=multi-user.target\n' },
      { path: '/usr/lib/systemd/system/multi-user.target', content: '[Unit]\nDescription=Multi-User System\n' },
    ],
  },
  {
    name: 'demo-motd',
    version: '1.0',
    release: '1',
    summary: 'Writes /usr/share/demo-motd/motd in its %post, with the real coreutils',
    requires: ['/bin/sh', 'coreutils'],
    files: [{ path: '/usr/share/demo-motd/template', content: 'Welcome to the Xylem demo OS\n' }],
    post: 'cat /usr/share/demo-motd/template > /usr/share/demo-motd/motd\necho "post ran with arg $1; $(ls /usr/bin | wc -l) commands in /usr/bin" >> /usr/share/demo-motd/motd',
  },
];

function log(s: string): void {
  process.stderr.write(`pkgset: ${s}\n`);
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.slice(0, 4).join(' ')}…: ${(err.stderr ?? '').trim().split('\n').slice(-5).join('\n') || err.message}`);
  }
}

/** `apt-get download --print-uris`: one line per deb, "'URL' FILE SIZE SHA256:…" (names, versions and hashes of what would be downloaded). */
function printUris(names: string[]): { file: string; line: string }[] {
  const out = run('apt-get', ['download', '--print-uris', ...names]);
  const rows = out
    .split('\n')
    .filter((l) => l.startsWith("'"))
    .map((line) => ({ file: line.split(' ')[1]!, line }));
  if (rows.length !== names.length) throw new Error(`apt-get download --print-uris gave ${rows.length} debs for ${names.length} packages (run apt-get update?)`);
  return rows;
}

/** The cache key: package list, the mirror's exact debs and the builder's own sources. */
function cacheKey(uris: { line: string }[]): string {
  const h = createHash('sha256');
  h.update([...DEBS, '|', BUMPED].join(' '));
  for (const u of uris) h.update(u.line.replace(/^'[^']*' /, ''));
  for (const f of ['build.ts', 'deb-spec.ts']) h.update(readFileSync(join(HERE, f)));
  return h.digest('hex').slice(0, 16);
}

/** Moves the tree's /bin, /sbin, /lib, /lib64 into /usr (merging directories); returns the old /bin and /sbin paths. */
function usrMerge(tree: string, pkg: string): string[] {
  const old: string[] = [];
  const move = (rel: string) => {
    const to = usrMergedPath(rel);
    const src = join(tree, rel);
    const st = lstatSync(src);
    if (st.isDirectory()) {
      for (const e of readdirSync(src)) move(`${rel}/${e}`);
      rmdirSync(src);
      return;
    }
    if (existsSync(join(tree, to)) || isLink(join(tree, to))) throw new PkgsetError(pkg, `/${rel} and /${to} are both in the package: cannot merge /usr`);
    mkdirSync(dirname(join(tree, to)), { recursive: true });
    renameSync(src, join(tree, to));
    if (/^s?bin\//.test(rel)) old.push(rel);
  };
  for (const top of ['bin', 'sbin', 'lib', 'lib64']) {
    const p = join(tree, top);
    if (!isLink(p) && !existsSync(p)) continue;
    if (!lstatSync(p).isDirectory()) throw new PkgsetError(pkg, `/${top} is not a directory in the package`);
    move(top);
  }
  return old.sort();
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Every file and symlink (and empty directory) of the tree; dropped paths are deleted from disk first. */
function listTree(tree: string): PkgEntry[] {
  const out: PkgEntry[] = [];
  const walk = (rel: string) => {
    const abs = rel === '' ? tree : join(tree, rel);
    const names = readdirSync(abs).sort();
    if (names.length === 0 && rel !== '') out.push({ path: rel, kind: 'dir' });
    for (const n of names) {
      const r = rel === '' ? n : `${rel}/${n}`;
      if (isDropped(r)) {
        rmSync(join(tree, r), { recursive: true, force: true });
        continue;
      }
      const st = lstatSync(join(tree, r));
      if (st.isSymbolicLink()) out.push({ path: r, kind: 'symlink' });
      else if (st.isDirectory()) walk(r);
      else if (st.isFile()) out.push({ path: r, kind: 'file' });
      else throw new Error(`${r}: not a file, directory or symlink`);
    }
  };
  walk('');
  return out;
}

/** rpmbuild -bb SPEC in a private topdir; the package lands in `outDir`. */
export function rpmbuild(specText: string, name: string, work: string, outDir: string): string {
  const top = join(work, `top-${name}`);
  for (const d of ['SPECS', 'RPMS', 'BUILD', 'BUILDROOT', 'SOURCES']) mkdirSync(join(top, d), { recursive: true });
  const spec = join(top, 'SPECS', `${name}.spec`);
  writeFileSync(spec, specText);
  const defs: Record<string, string> = {
    _topdir: top,
    _build_id_links: 'none',
    debug_package: '%{nil}',
    __os_install_post: '%{nil}',
    _binary_payload: 'w3.zstdio',
    _buildhost: 'xylem-pkgset',
    _source_date_epoch_from_changelog: '1',
    use_source_date_epoch_as_buildtime: '1',
  };
  run('rpmbuild', [...Object.entries(defs).flatMap(([k, v]) => ['--define', `${k} ${v}`]), '--quiet', '-bb', spec], { env: { ...process.env, HOME: top } });
  const rpms: string[] = [];
  for (const arch of readdirSync(join(top, 'RPMS'))) for (const f of readdirSync(join(top, 'RPMS', arch))) rpms.push(join(top, 'RPMS', arch, f));
  if (rpms.length !== 1) throw new Error(`rpmbuild of ${name} produced ${rpms.length} packages`);
  const out = join(outDir, rpms[0]!.split('/').pop()!);
  renameSync(rpms[0]!, out);
  rmSync(top, { recursive: true, force: true });
  return out;
}

/** What convertDeb made. */
export interface Converted {
  name: string;
  debVersion: string;
  rpm: string;
  /** The second build (another release), when asked for. */
  also: string | null;
}

/**
 * Repackages one .deb as an rpm in `outDir`: control fields read, data extracted in `work`, /usr
 * merged, spec written (deb-spec.ts), rpmbuild. `alsoRelease` may ask for a second build with
 * another release into another folder (the set's upgrade).
 */
export function convertDeb(
  deb: string,
  work: string,
  outDir: string,
  set: ReadonlySet<string>,
  opts: { alsoRelease?: (c: DebControl) => { release: string; outDir: string } | null } = {},
): Converted {
  const control = parseControl(run('dpkg-deb', ['-f', deb, 'Package', 'Version', 'Architecture', 'Depends', 'Pre-Depends', 'Description']), deb.split('/').pop()!);
  const tree = join(work, `tree-${control.package}`);
  rmSync(tree, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  try {
    run('dpkg-deb', ['-x', deb, tree]);
    const oldPaths = usrMerge(tree, control.package);
    const entries = listTree(tree);
    const spec = (release?: string) => specForDeb({ control, entries, tree, set, oldPaths, release, extraProvides: EXTRA_PROVIDES[control.package] });
    const rpm = rpmbuild(spec(), control.package, work, outDir);
    const second = opts.alsoRelease?.(control) ?? null;
    const also = second ? rpmbuild(spec(second.release), control.package, work, second.outDir) : null;
    return { name: control.package, debVersion: control.version, rpm, also };
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

/** Builds the set into `dir` (which must not exist). */
function buildSet(dir: string, uris: { file: string }[]): void {
  const work = join(dir, 'work');
  const debs = join(work, 'debs');
  const v1 = join(dir, 'v1');
  const v2 = join(dir, 'v2');
  for (const d of [debs, v1, v2]) mkdirSync(d, { recursive: true });
  log(`apt-get download ${DEBS.join(' ')}`);
  run('apt-get', ['download', ...DEBS], { cwd: debs });
  const set = new Set([...DEBS, ...TESTS.map((t) => t.name)]);
  const built = new Map<string, string>();
  let bumped: { name: string; from: string; to: string } | null = null;
  for (const u of uris) {
    const deb = join(debs, u.file);
    const bumpTo = (version: string) => `${/-([^-]+)$/.exec(version)?.[1] ?? '0'}.1`;
    const r = convertDeb(deb, work, v1, set, { alsoRelease: (c) => (c.package === BUMPED ? { release: bumpTo(c.version), outDir: v2 } : null) });
    built.set(r.name, r.rpm);
    if (r.also) bumped = { name: BUMPED, from: r.rpm.split('/').pop()!, to: r.also.split('/').pop()! };
    log(`${r.name} ${r.debVersion} → ${r.rpm.split('/').pop()}`);
  }
  for (const t of TESTS) built.set(t.name, rpmbuild(specForTest(t), t.name, work, v1));
  if (!bumped) throw new Error(`${BUMPED} is not in the set`);
  for (const [name, rpm] of built) if (name !== BUMPED) linkSync(rpm, join(v2, rpm.split('/').pop()!));
  for (const d of [v1, v2]) run('createrepo_c', ['--quiet', '--no-database', d]);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ packages: [...built.keys()].sort(), debs: DEBS, bumped }, null, 2) + '\n');
  rmSync(work, { recursive: true, force: true });
}

function main(): void {
  for (const tool of ['apt-get', 'dpkg-deb', 'rpmbuild', 'createrepo_c']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is missing (tools/setup.sh installs it)`);
    }
  }
  const uris = printUris(DEBS);
  const key = cacheKey(uris);
  if (process.argv.includes('--print-key')) {
    process.stdout.write(`${key}\n`);
    return;
  }
  const userCache = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/tmp', '.cache'), 'xylem-pkgset');
  const cache = process.env.XYLEM_PKGSET_CACHE ?? (process.getuid?.() === 0 ? '/var/cache/xylem-pkgset' : userCache);
  const out = join(cache, `pkgset-${key}`);
  if (!existsSync(join(out, '.complete'))) {
    mkdirSync(cache, { recursive: true });
    const tmp = `${out}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    const t0 = Date.now();
    try {
      buildSet(tmp, uris);
      writeFileSync(join(tmp, '.complete'), `${new Date().toISOString()}\n`);
      rmSync(out, { recursive: true, force: true });
      try {
        renameSync(tmp, out);
      } catch (e) {
        // another builder finished the same set first
        if (!existsSync(join(out, '.complete'))) throw e;
        rmSync(tmp, { recursive: true, force: true });
      }
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    log(`built ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  process.stdout.write(`${out}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`pkgset: error: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

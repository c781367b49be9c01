// The guarantees the crash campaign checks after every kill, each against the real ostree where one
// exists: `ostree fsck` on the repo (as ostree sees it: leftovers in tmp/ are fine, a corrupt or
// missing object of a complete commit is not), every ref names an existing commit,
// `ostree admin status` reads the sysroot, and every boot entry of the current loader names a
// complete deployment (its ostree= link chain resolves to deploy/CSUM.SERIAL with its .origin and
// a usr/ holding exactly the commit's paths, and its kernel and (when it ships one) initramfs
// exist under /boot).

import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { exec } from './proc.mjs';

const HEX64 = /^[0-9a-f]{64}$/;

/** Throws with ostree's output unless `ostree fsck` passes on `repo`. */
export async function fsckOk(repo) {
  const r = await exec('ostree', ['fsck', `--repo=${repo}`]);
  if (r.status !== 0) throw new Error(`ostree fsck failed (exit ${r.status}):\n${r.stderr}${r.stdout.slice(-4000)}`);
}

/** Every ref file under refs/ holds one checksum of a commit present in the repo. Returns name → csum. */
export function refsOk(repo) {
  const out = new Map();
  const walk = (rel) => {
    const abs = join(repo, rel);
    if (!existsSync(abs)) return;
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      // As ostree (checked: `ostree refs` and fsck): dot-files are not refs. A writer's temp file
      // left by a kill (ostree's own glnx temp names start with '.' too) is litter, not a ref.
      if (e.name.startsWith('.')) continue;
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else {
        const text = readFileSync(join(repo, r), 'utf8');
        const csum = text.trim();
        if (!HEX64.test(csum) || text !== `${csum}\n`) throw new Error(`ref ${r} is not a checksum: ${JSON.stringify(text.slice(0, 80))}`);
        if (!existsSync(join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.commit`))) throw new Error(`ref ${r} names missing commit ${csum}`);
        out.set(r.replace(/^refs\/(heads\/)?/, ''), csum);
      }
    }
  };
  walk('refs');
  return out;
}

/** `ostree admin status` of an unbooted sysroot, as "csum.serial" lines (default first). */
export async function adminStatus(sysroot) {
  const r = await exec('ostree', ['admin', `--sysroot=${sysroot}`, 'status']);
  if (r.status !== 0) throw new Error(`ostree admin status failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => /^[* ] \S+ [0-9a-f]{64}\.\d+/.test(l))
    .map((l) => l.split(' ')[3]);
}

/** The paths under usr/ of a commit as `ostree ls -R` lists them, sorted (cached per repo+commit). */
const usrCache = new Map();
export async function commitUsrPaths(repo, csum) {
  const key = `${repo}\0${csum}`;
  if (usrCache.has(key)) return usrCache.get(key);
  const r = await exec('ostree', [`--repo=${repo}`, 'ls', '-R', csum, '/usr']);
  if (r.status !== 0) throw new Error(`ostree ls ${csum}: ${r.stderr}`);
  const paths = r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/ -> .*$/, '').split(/\s+/).pop().replace(/^\//, ''))
    .filter((p) => p !== 'usr')
    .sort();
  usrCache.set(key, paths);
  return paths;
}

function treePaths(root) {
  const out = [];
  const walk = (rel) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      out.push(r);
      if (e.isDirectory()) walk(r);
    }
  };
  walk('usr');
  return out.sort();
}

/** True when a deployment holds an initramfs where ostree looks for one (usr/lib/modules/KVER/). */
function hasInitramfs(dep) {
  const mods = join(dep, 'usr/lib/modules');
  if (!existsSync(mods)) return false;
  return readdirSync(mods).some((k) => existsSync(join(mods, k, 'initramfs.img')));
}

/**
 * Every boot entry of the current loader names a complete deployment (see the header). `repo` is
 * where the commits can be listed. Returns the deployments named, highest entry version first.
 */
export async function entriesComplete(sysroot, repo) {
  const loader = readlinkSync(join(sysroot, 'boot/loader'));
  if (!/^loader\.[01]$/.test(loader)) throw new Error(`boot/loader points at ${loader}`);
  const dir = join(sysroot, 'boot', loader, 'entries');
  const named = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.conf')) continue;
    const text = readFileSync(join(dir, name), 'utf8');
    const m = /(?:^|\s)ostree=(\/ostree\/boot\.[01]\/\S+)/m.exec(text);
    if (!m) throw new Error(`${name}: no ostree= argument`);
    let target;
    try {
      target = realpathSync(join(sysroot, m[1]));
    } catch (e) {
      throw new Error(`${name}: ostree=${m[1]} does not resolve: ${e.message}`);
    }
    const rel = relative(sysroot, target);
    const dm = /^ostree\/deploy\/([^/]+)\/deploy\/([0-9a-f]{64})\.(\d+)$/.exec(rel);
    if (!dm) throw new Error(`${name}: ostree=${m[1]} resolves to ${rel}, not a deployment`);
    if (!existsSync(`${target}.origin`)) throw new Error(`${name}: deployment ${rel} has no .origin`);
    if (!existsSync(join(target, 'usr')) || !statSync(join(target, 'usr')).isDirectory()) throw new Error(`${name}: deployment ${rel} has no usr/`);
    const got = treePaths(target);
    const want = await commitUsrPaths(repo, dm[2]);
    if (got.join('\n') !== want.join('\n')) throw new Error(`${name}: deployment ${rel} is incomplete (${got.length} of ${want.length} paths under usr/)`);
    // An initrd line is required when the deployment ships an initramfs (ostree omits it otherwise).
    const withInitramfs = hasInitramfs(target);
    for (const key of ['linux', 'initrd']) {
      const f = new RegExp(`^${key} (\\S+)$`, 'm').exec(text);
      if (!f && key === 'initrd' && !withInitramfs) continue;
      if (!f) throw new Error(`${name}: no ${key} line`);
      const p = join(sysroot, 'boot', f[1]);
      if (!existsSync(p) || statSync(p).size === 0) throw new Error(`${name}: ${key} ${f[1]} is missing or empty`);
    }
    const v = /^version (\d+)$/m.exec(text);
    named.push([v ? Number(v[1]) : 0, `${dm[2]}.${dm[3]}`]);
  }
  if (named.length === 0) throw new Error(`${loader}/entries holds no boot entry`);
  return named.sort((a, b) => b[0] - a[0]).map((x) => x[1]);
}

/** All sysroot guarantees: fsck, refs, admin status, entries == status. Returns the status list. */
export async function sysrootOk(sysroot) {
  const repo = join(sysroot, 'ostree/repo');
  await fsckOk(repo);
  refsOk(repo);
  const list = await adminStatus(sysroot);
  const named = await entriesComplete(sysroot, repo);
  if (named.join(' ') !== list.join(' ')) throw new Error(`boot entries name ${named.join(' ')} but ostree admin status lists ${list.join(' ')}`);
  return list;
}

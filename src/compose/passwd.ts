// passwd and group across composes, as rpm-ostree's rust/src/passwd.rs: `preserve-passwd`
// (default true) seeds usr/etc/passwd and usr/etc/group of the new root, before any package is
// checked out, from the previous commit of the ref (its usr/etc then usr/lib entries, first of
// each name wins) — or from the `check-passwd`/`check-groups` files when those are of type
// `file`, with matching shadow/gshadow — so useradd in scriptlets hands out the same ids again.
// After postprocessing, the new usr/lib/passwd and usr/lib/group are checked against the
// `check-passwd`/`check-groups` reference (none | previous (default) | file | data): a changed uid
// or gid fails the compose; a removed name fails it only when files of the tree still carry its
// id (unless listed in `ignore-removed-users`/`-groups`, `*` for all).

import type { FsHost } from '../host.ts';
import { resolveRev } from '../repo/refs.ts';
import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { readRegular } from './postprocess.ts';
import type { PasswdCheck, Treefile } from './treefile.ts';

/** A passwd/group file larger than this (in a previous commit) is refused. */
export const MAX_PASSWD_BYTES = 16 << 20;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One passwd or group line: name, uid (group: gid), gid (group: gid again) and the line itself. */
export interface IdEntry {
  name: string;
  uid: number;
  gid: number;
  line: string;
}

/** Parses passwd (`name:x:uid:gid:…`) or group (`name:x:gid:…`) text; comments and blank lines skipped. */
export function parseIdFile(text: string, kind: 'passwd' | 'group', what: string): IdEntry[] {
  const out: IdEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const need = kind === 'passwd' ? 7 : 4;
    if (f.length < need || f[0] === '') throw new XylemError(`${what}:${i + 1}: not a ${kind} entry (expected ${need} fields)`, 'EINVAL');
    const idOk = (s: string) => /^\d{1,10}$/.test(s) && Number(s) <= 0xffffffff;
    if (!idOk(f[2]!) || (kind === 'passwd' && !idOk(f[3]!))) throw new XylemError(`${what}:${i + 1}: invalid id in '${line}'`, 'EINVAL');
    const uid = Number(f[2]);
    out.push({ name: f[0]!, uid, gid: kind === 'passwd' ? Number(f[3]) : uid, line });
  }
  return out;
}

/** Lines of `sources` in order, the first line of each name kept. */
export function uniqueByName(sources: readonly IdEntry[][]): IdEntry[] {
  const seen = new Set<string>();
  const out: IdEntry[] = [];
  for (const s of sources)
    for (const e of s) {
      if (seen.has(e.name)) continue;
      seen.add(e.name);
      out.push(e);
    }
  return out;
}

/** The bytes of the regular file at `path` in commit `commit` of `repo`, or null when absent. */
export async function readCommitFile(repo: Repo, commit: string, path: string, cap = MAX_PASSWD_BYTES): Promise<Uint8Array | null> {
  const comps = path.split('/').filter((c) => c !== '');
  let tree = (await repo.loadCommit(commit)).rootTree;
  for (let k = 0; k < comps.length; k++) {
    const dt = await repo.loadDirTree(tree);
    if (k < comps.length - 1) {
      const d = dt.dirs.find((x) => x.name === comps[k]);
      if (!d) return null;
      tree = d.treeChecksum;
      continue;
    }
    const f = dt.files.find((x) => x.name === comps[k]);
    if (!f) return null;
    const obj = await repo.loadFile(f.checksum);
    if ((obj.header.mode & 0o170000) !== 0o100000) throw new XylemError(`commit ${commit}: /${path}: not a regular file`, 'EINVAL');
    if (obj.size > cap) throw new XylemError(`commit ${commit}: /${path}: ${obj.size} bytes is over the limit of ${cap}`, 'E2BIG');
    return obj.read();
  }
  return null;
}

/** The previous commit of the ref, where passwd data comes from. */
export interface PreviousCommit {
  repo: Repo;
  commit: string;
}

function externalText(tf: Treefile, path: string): string {
  const e = tf.externals.find((x) => x.path === path);
  if (!e) throw new XylemError(`${path}: was not read with the treefile`, 'ENOENT');
  return dec.decode(e.data);
}

async function writeLines(fs: FsHost, path: string, lines: readonly string[], mode: number): Promise<void> {
  await writeFileAtomic(fs, path, enc.encode(lines.map((l) => `${l}\n`).join('')), { mode });
  await fs.chmod(path, mode);
}

/**
 * `preserve-passwd`: writes usr/etc/passwd and usr/etc/group into the (empty) root from the
 * check files or the previous commit. Returns whether the root now has them (then the `setup`
 * package must not replace them: it is checked out adding files only).
 */
export async function seedPasswd(fs: FsHost, root: string, tf: Treefile, previous: PreviousCommit | null): Promise<boolean> {
  if (!tf.preservePasswd) return false;
  const dir = joinPath(root, 'usr/etc');
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  if (tf.checkPasswd.type === 'file' && tf.checkGroups.type === 'file') {
    const users = uniqueByName([parseIdFile(externalText(tf, tf.checkPasswd.path), 'passwd', tf.checkPasswd.path)]);
    const groups = uniqueByName([parseIdFile(externalText(tf, tf.checkGroups.path), 'group', tf.checkGroups.path)]);
    await writeLines(fs, joinPath(dir, 'passwd'), users.map((e) => e.line), 0o644);
    await writeLines(fs, joinPath(dir, 'shadow'), users.map((e) => `${e.name}:*::0:99999:7:::`), 0);
    await writeLines(fs, joinPath(dir, 'group'), groups.map((e) => e.line), 0o644);
    await writeLines(fs, joinPath(dir, 'gshadow'), groups.map((e) => `${e.name}:::`), 0);
    return true;
  }
  if (!previous) return false;
  let wrote = false;
  for (const kind of ['passwd', 'group'] as const) {
    const etc = await readCommitFile(previous.repo, previous.commit, `usr/etc/${kind}`);
    const lib = await readCommitFile(previous.repo, previous.commit, `usr/lib/${kind}`);
    if (!etc || !lib) continue;
    const what = `commit ${previous.commit}`;
    const merged = uniqueByName([parseIdFile(dec.decode(etc), kind, `${what}: /usr/etc/${kind}`), parseIdFile(dec.decode(lib), kind, `${what}: /usr/lib/${kind}`)]);
    await writeLines(fs, joinPath(dir, kind), merged.map((e) => e.line), 0o644);
    wrote = true;
  }
  return wrote;
}

/** The reference entries (empty for `none`, or `previous` without a previous commit or file). */
async function referenceEntries(check: PasswdCheck, kind: 'passwd' | 'group', tf: Treefile, previous: PreviousCommit | null): Promise<Map<string, [number, number]>> {
  const toMap = (l: IdEntry[]) => new Map(l.map((e): [string, [number, number]] => [e.name, [e.uid, e.gid]]));
  switch (check.type) {
    case 'none':
      return new Map();
    case 'data':
      return check.entries;
    case 'file':
      return toMap(parseIdFile(externalText(tf, check.path), kind, check.path));
    case 'previous': {
      if (!previous) return new Map();
      const data = await readCommitFile(previous.repo, previous.commit, `usr/lib/${kind}`);
      if (!data) return new Map();
      return toMap(parseIdFile(dec.decode(data), kind, `commit ${previous.commit}: /usr/lib/${kind}`));
    }
  }
}

/** Whether any file of the tree has this uid (or gid): by its RPM owner name or on disk. */
export interface IdUse {
  usesUid(uid: number, name: string): Promise<boolean>;
  usesGid(gid: number, name: string): Promise<boolean>;
}

/**
 * An IdUse over the packages' header owner names and the ownership on disk of the assembled root
 * (what scriptlets chowned); ids 0 and that of the root folder's owner (the composing user, who
 * owns every checked-out file) are not evidence.
 */
export function idUseOf(fs: FsHost, root: string, headerUsers: ReadonlySet<string>, headerGroups: ReadonlySet<string>): IdUse {
  let ids: { uids: Set<number>; gids: Set<number> } | null = null;
  const scan = async () => {
    if (ids) return ids;
    const found = { uids: new Set<number>(), gids: new Set<number>() };
    const top = await fs.lstat(root);
    const walk = async (dir: string): Promise<void> => {
      for (const e of await fs.readdir(dir)) {
        const p = joinPath(dir, e.name);
        const st = await fs.lstat(p);
        if (!st) continue;
        found.uids.add(st.uid);
        found.gids.add(st.gid);
        if (st.kind === 'dir') await walk(p);
      }
    };
    await walk(root);
    for (const x of [0, top?.uid ?? 0]) found.uids.delete(x);
    for (const x of [0, top?.gid ?? 0]) found.gids.delete(x);
    ids = found;
    return found;
  };
  return {
    async usesUid(uid, name) {
      return headerUsers.has(name) || (await scan()).uids.has(uid);
    },
    async usesGid(gid, name) {
      return headerGroups.has(name) || (await scan()).gids.has(gid);
    },
  };
}

/**
 * `check-passwd` / `check-groups`: compares the root's usr/lib/passwd and usr/lib/group with the
 * reference. Returns rpm-ostree's informational lines; throws with its wording on a violation.
 */
export async function checkPasswdGroups(fs: FsHost, root: string, tf: Treefile, previous: PreviousCommit | null, use: IdUse): Promise<string[]> {
  const notes: string[] = [];
  for (const kind of ['passwd', 'group'] as const) {
    const check = kind === 'passwd' ? tf.checkPasswd : tf.checkGroups;
    const old = await referenceEntries(check, kind, tf, previous);
    const data = await readRegular(fs, joinPath(root, 'usr/lib', kind));
    const cur = new Map<string, [number, number]>();
    if (data) for (const e of parseIdFile(dec.decode(data), kind, `/usr/lib/${kind}`)) if (!cur.has(e.name)) cur.set(e.name, [e.uid, e.gid]);
    // Names the split kept in usr/etc (root) are still in the tree: not "removed". (Upstream reads
    // usr/lib only, so a reference holding root fails there; ours tells nothing.)
    const etcData = await readRegular(fs, joinPath(root, 'usr/etc', kind));
    const inEtc = new Set(etcData ? parseIdFile(dec.decode(etcData), kind, `/usr/etc/${kind}`).map((e) => e.name) : []);
    const ignored = kind === 'passwd' ? tf.ignoreRemovedUsers : tf.ignoreRemovedGroups;
    const label = kind === 'passwd' ? 'user' : 'group';
    const file = kind === 'passwd' ? 'passwd' : 'group';
    for (const name of [...old.keys()].sort()) {
      if (cur.has(name) || inEtc.has(name)) continue;
      if (ignored.includes('*') || ignored.includes(name)) {
        notes.push(`Ignored ${label} missing from new ${file} file: ${name}`);
        continue;
      }
      const id = old.get(name)!;
      const used = kind === 'passwd' ? await use.usesUid(id[0], name) : await use.usesGid(id[0], name);
      if (used) throw new XylemError(`${kind === 'passwd' ? 'User' : 'Group'} missing from new ${file} file: ${name}`, 'EPASSWD');
      notes.push(`Unused ${label} removed from new ${file} file: ${name}`);
    }
    const added: string[] = [];
    for (const name of [...cur.keys()].sort()) {
      const o = old.get(name);
      if (!o) {
        added.push(name);
        continue;
      }
      const n = cur.get(name)!;
      if (kind === 'passwd') {
        if (n[0] !== o[0]) throw new XylemError(`passwd UID changed: ${name} (${o[0]} to ${n[0]})`, 'EPASSWD');
        if (n[1] !== o[1]) throw new XylemError(`passwd GID changed: ${name} (${o[1]} to ${n[1]})`, 'EPASSWD');
      } else if (n[0] !== o[0]) throw new XylemError(`group GID changed: ${name} (${n[0]} to ${o[0]})`, 'EPASSWD');
    }
    if (added.length > 0) notes.push(`New ${file} entries: ${added.join(', ')}`);
  }
  return notes;
}

/** The previous commit of `ref` in `repo`, or null. */
export async function previousCommit(repo: Repo, ref: string): Promise<PreviousCommit | null> {
  const c = await resolveRev(repo, ref, true);
  return c ? { repo, commit: c } : null;
}

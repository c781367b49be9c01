// Where a package's file lands in an ostree tree, as rpm-ostree's importer decides it
// (rust/src/importer.rs, tmpfiles.rs; reference note rpm-packages.md §7.2): `etc` → `usr/etc`,
// `boot` → `usr/lib/ostree-boot`, `opt/X` → `usr/lib/opt/X` (+ a tmpfiles symlink),
// `var/lib/alternatives|vagrant` → `usr/lib/…` (+ symlink), `var/lib/selinux/targeted` →
// `usr/etc/selinux/targeted`; any other `/var` or `/run` entry becomes a tmpfiles.d line instead
// of a file; anything outside `/usr`, `/bin`, `/sbin`, `/lib`, `/lib64` is refused.

import { XylemError } from '../util/errors.ts';

export type Translation =
  /** Store the entry at `path` (relative, no leading slash); optionally add a tmpfiles line. */
  | { kind: 'store'; path: string; tmpfiles?: string }
  /** Do not store; emit this tmpfiles.d line (null: nothing at all). */
  | { kind: 'tmpfiles'; line: string | null }
  /** Silently skipped (the root itself, `/var`, `/run`, selinux lock files). */
  | { kind: 'skip' };

const ALLOWED_TOP = new Set(['usr', 'bin', 'sbin', 'lib', 'lib64']);
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** Quotes a tmpfiles.d path field when it holds whitespace, quotes or backslashes (systemd's rules). */
export function tmpfilesQuote(p: string): string {
  if (!/[\s"'\\]/.test(p)) return p;
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function mode4(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** The tmpfiles.d line for a /var or /run entry (`/var/run/x` is `/run/x`). */
export function tmpfilesLine(path: string, mode: number, user: string, group: string, linkto: string, pkg: string): string {
  const p = tmpfilesQuote(path.startsWith('/var/run/') ? path.slice(4) : path === '/var/run' ? '/run' : path);
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return `d ${p} ${mode4(mode)} ${user} ${group} - -`;
    case S_IFREG:
      return `f ${p} ${mode4(mode)} ${user} ${group} - -`;
    case S_IFLNK:
      return `L ${p} - - - - ${linkto}`;
    default:
      throw new XylemError(`${pkg}: ${path}: unsupported file type 0${(mode & S_IFMT).toString(8)} under /var or /run`, 'EUNSUPPORTED');
  }
}

/**
 * Translates one header path (absolute, as in the RPM) of package `pkg`. `mode`, `user`, `group`
 * and `linkto` are the header's (used for tmpfiles lines).
 */
export function translatePath(path: string, mode: number, user: string, group: string, linkto: string, pkg: string): Translation {
  if (!path.startsWith('/')) throw new XylemError(`${pkg}: file path '${path}' is not absolute`, 'EINVAL');
  const parts = path.split('/').filter((c) => c !== '');
  if (parts.some((c) => c === '.' || c === '..')) throw new XylemError(`${pkg}: file path '${path}' has '.' or '..' components`, 'EINVAL');
  if (parts.length === 0) return { kind: 'skip' };
  const top = parts[0]!;
  const rel = parts.join('/');
  if (top === 'etc') return { kind: 'store', path: `usr/${rel}` };
  if (top === 'boot') return { kind: 'store', path: ['usr/lib/ostree-boot', ...parts.slice(1)].join('/') };
  if (top === 'opt') {
    if (parts.length === 1) return { kind: 'skip' };
    const stored = ['usr/lib/opt', ...parts.slice(1)].join('/');
    // One symlink per top-level /opt entry, whichever of its paths comes first (callers dedupe).
    return { kind: 'store', path: stored, tmpfiles: `L ${tmpfilesQuote(`/opt/${parts[1]}`)} - - - - ../../usr/lib/opt/${parts[1]}` };
  }
  if (top === 'var') {
    if (parts.length === 1) return { kind: 'skip' };
    if (parts[1] === 'lib' && (parts[2] === 'alternatives' || parts[2] === 'vagrant')) {
      const stored = ['usr/lib', ...parts.slice(2)].join('/');
      return { kind: 'store', path: stored, tmpfiles: `L /var/lib/${parts[2]} - - - - ../../usr/lib/${parts[2]}` };
    }
    if (parts[1] === 'lib' && parts[2] === 'selinux' && parts[3] === 'targeted') {
      const stored = ['usr/etc/selinux/targeted', ...parts.slice(4)].join('/');
      if (stored.endsWith('.LOCK')) return { kind: 'skip' };
      return { kind: 'store', path: stored };
    }
    return { kind: 'tmpfiles', line: tmpfilesLine(`/${rel}`, mode, user, group, linkto, pkg) };
  }
  if (top === 'run') {
    if (parts.length === 1) return { kind: 'skip' };
    return { kind: 'tmpfiles', line: tmpfilesLine(`/${rel}`, mode, user, group, linkto, pkg) };
  }
  if (!ALLOWED_TOP.has(top)) throw new XylemError(`${pkg}: Unsupported path: /${rel}; See https://github.com/projectatomic/rpm-ostree/issues/233`, 'EUNSUPPORTEDPATH');
  if (rel.startsWith('usr/etc/selinux/') && rel.endsWith('.LOCK')) return { kind: 'skip' };
  return { kind: 'store', path: rel };
}

// Labelling the files of a tree being committed, as libostree's commit modifier does with an
// OstreeSePolicy (ostree-repo-commit.c get_final_xattrs, ostree-sepolicy.c
// ostree_sepolicy_get_label): the context comes from the path inside the commit ("/usr/bin/foo")
// and the file's type; "/proc" is looked up as "/mnt" (libostree's workaround for policies that
// label /proc specially); with label version 1 (ostree's SELINUX_LABEL_V1 flag, rpm-ostree's
// `selinux-label-version: 1`) paths under /usr/etc are labelled as under /etc. The xattr value is
// the context with a trailing NUL; any security.selinux already present is dropped and the new
// one appended after the others, whose order is kept (libostree reads a disk's xattrs sorted by
// name, a stored object's as stored, and does not re-sort after appending the label).

import type { Xattr } from '../format/objects.ts';
import { keepXattrOrder } from '../format/objects.ts';
import { XylemError } from '../util/errors.ts';
import type { SePolicy } from './policy.ts';

export const SELINUX_XATTR = 'security.selinux';

/** How a tree is labelled. */
export interface LabelOptions {
  /** 0 (default): every path as it is; 1: /usr/etc/… labelled as /etc/…. */
  labelVersion?: 0 | 1;
  /** Fail when the policy has no label for a path (ostree's ERROR_ON_UNLABELED, used by rpm-ostree). */
  errorOnUnlabeled?: boolean;
}

/** The context for `relPath` (inside the commit, starting with '/') of type `mode`, or null. */
export function labelFor(policy: SePolicy, relPath: string, mode: number, opts: LabelOptions = {}): string | null {
  if (typeof relPath !== 'string' || !relPath.startsWith('/')) throw new TypeError(`labelFor: path must start with '/': ${relPath}`);
  let path = relPath;
  if (opts.labelVersion === 1 && (path === '/usr/etc' || path.startsWith('/usr/etc/'))) path = path.slice(4);
  if (path === '/proc') path = '/mnt';
  const ctx = policy.contexts.lookup(path, mode);
  if (ctx === null && opts.errorOnUnlabeled) throw new XylemError(`Failed to look up SELinux label for '${relPath}'`, 'ENOENT');
  return ctx;
}

const encoder = new TextEncoder();
/** Encoded labels, shared: a tree has thousands of files and a few hundred distinct contexts. */
const encoded = new Map<string, Uint8Array>();

/** The security.selinux value for a context: its bytes and a NUL. */
export function labelValue(context: string): Uint8Array {
  let v = encoded.get(context);
  if (!v) {
    const b = encoder.encode(context);
    v = new Uint8Array(b.length + 1);
    v.set(b);
    if (encoded.size < 65536) encoded.set(context, v);
  }
  return v;
}

/**
 * The xattrs to commit for a path: `xattrs` (what is on disk, sorted by name; or what a stored
 * object has) with the policy's label for it appended, or `xattrs` unchanged when the policy has
 * none. The result is marked to be encoded in this order.
 */
export function labelXattrs(policy: SePolicy, relPath: string, mode: number, xattrs: readonly Xattr[], opts: LabelOptions = {}): Xattr[] {
  const ctx = labelFor(policy, relPath, mode, opts);
  if (ctx === null) return xattrs as Xattr[];
  const out = xattrs.filter((x) => x.name !== SELINUX_XATTR);
  out.push({ name: SELINUX_XATTR, value: labelValue(ctx) });
  return keepXattrOrder(out);
}

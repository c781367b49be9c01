// The SELinux labelling oracles: libselinux's own lookup through `matchpathcon -N -n -f FILE`
// (selinux-utils; selabel_lookup_raw over the given file_contexts with its .homedirs/.local/.subs
// siblings), and a policy root that the real `ostree commit --selinux-policy` accepts, built from
// Debian's refpolicy (selinux-policy-default, /etc/selinux/default) in a temporary directory.
// Only the text file_contexts files are copied, never the compiled .bin ones, so the oracle and
// Xylem read exactly the same input.

import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from './pseudo-random.ts';

export const MATCHPATHCON = '/usr/sbin/matchpathcon';
export const HAVE_MATCHPATHCON = existsSync(MATCHPATHCON);
export const SYSTEM_POLICY = '/etc/selinux/default';
export const HAVE_REFPOLICY = existsSync(join(SYSTEM_POLICY, 'contexts/files/file_contexts')) && existsSync('/etc/selinux/config');

/** matchpathcon -m letters and the S_IFMT values they stand for. */
export const TYPE_LETTERS = { f: 0o100000, d: 0o040000, l: 0o120000, c: 0o020000, b: 0o060000, p: 0o010000, s: 0o140000 } as const;
export type TypeLetter = keyof typeof TYPE_LETTERS;

/**
 * Contexts libselinux gives `paths` from the file_contexts at `fcFile` ('<<none>>' when none), for
 * files of type `type` (omitted: the type lstat finds, 0 for paths that do not exist).
 */
export function matchpathcon(fcFile: string, paths: readonly string[], type?: TypeLetter): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < paths.length) {
    const batch: string[] = [];
    let bytes = 0;
    while (i < paths.length && batch.length < 4000 && bytes < 64 * 1024) {
      batch.push(paths[i]!);
      bytes += Buffer.byteLength(paths[i]!) + 1;
      i++;
    }
    const args = ['-N', '-n', ...(type ? ['-m', type] : []), '-f', fcFile, '--', ...batch];
    const r = spawnSync(MATCHPATHCON, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    const lines = r.stdout.split('\n');
    lines.pop();
    if (r.status !== 0 || lines.length !== batch.length)
      throw new Error(`matchpathcon exited ${r.status} with ${lines.length} answers for ${batch.length} paths:\n${r.stderr.slice(0, 2000)}`);
    out.push(...lines);
  }
  return out;
}

/** Runs matchpathcon on one path expecting it to fail to open the database; returns its stderr. */
export function matchpathconOpenError(fcFile: string): string | null {
  const r = spawnSync(MATCHPATHCON, ['-N', '-n', '-f', fcFile, '/'], { encoding: 'utf8' });
  return r.status === 0 ? null : r.stderr;
}

/**
 * Writes a policy root under `root`: etc/selinux/config (the system's, or `config`), and
 * etc/selinux/<type>/contexts/files/ with the refpolicy's text files; with `binary`, also the
 * compiled policy (ostree checksums it when loading). Returns the file_contexts path.
 */
export function writePolicyRoot(root: string, opts: { config?: string; binary?: boolean; etc?: string } = {}): string {
  const etc = join(root, opts.etc ?? 'etc', 'selinux');
  const files = join(etc, 'default', 'contexts', 'files');
  mkdirSync(files, { recursive: true });
  if (opts.config !== undefined) writeFileSync(join(etc, 'config'), opts.config);
  else copyFileSync('/etc/selinux/config', join(etc, 'config'));
  for (const f of ['file_contexts', 'file_contexts.homedirs', 'file_contexts.subs_dist', 'file_contexts.local', 'file_contexts.subs']) {
    const src = join(SYSTEM_POLICY, 'contexts', 'files', f);
    if (existsSync(src)) copyFileSync(src, join(files, f));
  }
  if (opts.binary) cpSync(join(SYSTEM_POLICY, 'policy'), join(etc, 'default', 'policy'), { recursive: true });
  return join(files, 'file_contexts');
}

/** A deterministic PRNG (mulberry32), so failures are reproducible. */
export const rng = mulberry32;

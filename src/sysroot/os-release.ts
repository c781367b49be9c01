// A deployment's os-release (the BLS entry title comes from it), found and parsed as libostree's
// install_deployment_kernel does: usr/lib/os-release first, else etc/os-release, symlinks followed
// but only inside the deployment; PRETTY_NAME, else ID, is the title, and a tree with neither is
// refused.

import type { FsHost } from '../host.ts';
import { XylemError } from '../util/errors.ts';
import { readSmallText, resolveInRoot } from './fsutil.ts';

/** Reads KEY=VALUE lines of an os-release file (shell quoting removed). */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let v = line.slice(eq + 1);
    if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) {
      const q = v[0];
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\(["\\$`])/g, '$1');
    }
    out.set(line.slice(0, eq), v);
  }
  return out;
}

/**
 * The os-release of the deployment at `root`, as libostree's install_deployment_kernel picks it:
 * usr/lib/os-release when it exists, else etc/os-release. Symlinks are followed (usr-merged trees
 * make etc/os-release → ../usr/lib/os-release, Fedora's usr/etc/os-release → ../lib/os-release),
 * but only inside the deployment: an absolute or '..'-heavy target never leaves `root`.
 */
export async function readOsRelease(fs: FsHost, root: string): Promise<Map<string, string>> {
  for (const p of ['usr/lib/os-release', 'etc/os-release']) {
    const real = await resolveInRoot(fs, root, p);
    if (real === null) continue;
    let text: string | null;
    try {
      text = await readSmallText(fs, real);
    } catch (e) {
      throw new XylemError(`Installing kernel: Reading /${p}: ${(e as Error).message}`);
    }
    if (text === null) continue;
    return parseOsRelease(text);
  }
  throw new XylemError('Installing kernel: Reading /etc/os-release: openat(etc/os-release): No such file or directory');
}

/** The BLS title's base, as libostree: PRETTY_NAME, else ID; a tree with neither is refused. */
export function osReleaseTitle(osr: Map<string, string>): string {
  const title = osr.get('PRETTY_NAME') ?? osr.get('ID');
  if (title === undefined) throw new XylemError('Installing kernel: No PRETTY_NAME or ID in /etc/os-release');
  return title;
}

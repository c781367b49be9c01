// What a repository's gpgcheck means for one package, as dnf and rpm-ostree apply it: the package's
// digests must hold, and with gpgcheck=1 it must carry a signature that verifies against one of the
// keys the repo's gpgkey URLs name. Keys come from file:// URLs inside a given root (a deployment's,
// never through a symbolic link) or over http(s); sizes are capped. Shared by compose and layering.

import type { Host } from '../host.ts';
import { verifyRpm, type RpmPackage } from '../rpm/index.ts';
import type { Hasher } from '../rpm/digest.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import type { RepoMetadata } from './fetch.ts';

const MAX_KEY_BYTES = 1 << 20;

/**
 * The keys a repo's gpgkey URLs name: file:// inside `keyRoot` (never through a link, unless
 * `keyRoot` is `/`, the host itself), http(s) through Host.fetch.
 */
export async function repoKeys(host: Host, md: RepoMetadata, keyRoot: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const url of md.repo.gpgkey) {
    if (url.startsWith('file://')) {
      const path = decodeURIComponent(url.slice('file://'.length));
      if (!path.startsWith('/') || path.split('/').includes('..')) throw new XylemError(`repo '${md.repo.id}': gpgkey ${url}: not an absolute path`, 'EINVAL');
      let cur = keyRoot;
      let st = null;
      if (keyRoot === '/') {
        // The host's own keys (a compose on its build host): links followed, as dnf does.
        cur = path;
        st = await host.fs.stat(cur);
        if (!st) throw new XylemError(`repo '${md.repo.id}': gpgkey ${url} does not exist`, 'ENOENT');
      } else
        // Inside the deployment only: no component may be a symbolic link (it could point anywhere).
        for (const c of path.split('/').filter((x) => x !== '')) {
          cur = joinPath(cur, c);
          st = await host.fs.lstat(cur);
          if (!st) throw new XylemError(`repo '${md.repo.id}': gpgkey ${url} does not exist in the deployment`, 'ENOENT');
          if (st.kind === 'symlink') throw new XylemError(`repo '${md.repo.id}': gpgkey ${url} goes through a symbolic link in the deployment; refused`, 'ELOOP');
        }
      if (!st || st.kind !== 'file') throw new XylemError(`repo '${md.repo.id}': gpgkey ${url} is not a regular file`, 'EINVAL');
      if (st.size > MAX_KEY_BYTES) throw new XylemError(`repo '${md.repo.id}': gpgkey ${url} is larger than ${MAX_KEY_BYTES} bytes`, 'E2BIG');
      out.push(await host.fs.readFile(cur));
    } else if (/^https?:\/\//.test(url)) {
      const f = host.fetch ?? globalThis.fetch.bind(globalThis);
      const r = await f(url);
      if (!r.ok) throw new XylemError(`repo '${md.repo.id}': gpgkey ${url}: HTTP ${r.status}`, 'EFETCH');
      const b = new Uint8Array(await r.arrayBuffer());
      if (b.length > MAX_KEY_BYTES) throw new XylemError(`repo '${md.repo.id}': gpgkey ${url} is larger than ${MAX_KEY_BYTES} bytes`, 'E2BIG');
      out.push(b);
    } else throw new XylemError(`repo '${md.repo.id}': gpgkey ${url}: unsupported URL scheme`, 'EINVAL');
  }
  return out;
}

/** Refuses a package whose digests or (with gpgcheck) signatures do not hold. */
export async function checkRepoPackage(pkg: RpmPackage, what: string, gpg: { keys: Uint8Array[] } | null, sha256?: () => Hasher): Promise<void> {
  const v = await verifyRpm(pkg, { ...(gpg ? { keys: gpg.keys } : {}), ...(sha256 ? { sha256 } : {}) });
  if (!v.digestsOk) throw new XylemError(`${what}: digests do not match (${v.summary}); the package is corrupt`, 'EBADRPM');
  if (!gpg) return;
  if (!v.signed) throw new XylemError(`${what}: the package is not signed, and its repository has gpgcheck=1`, 'ENOTSIGNED');
  if (!v.signaturesOk) throw new XylemError(`${what}: signature check failed (${v.summary}); its repository has gpgcheck=1`, 'EBADSIG');
}

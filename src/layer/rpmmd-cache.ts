// The host's rpm-md cache for layering (rpm-ostree keeps it in /var/cache/rpm-ostree; here the
// stateroot's /var): `refresh-md` loads every enabled repo of the deployment's yum.repos.d into
// it, `cleanup -m` deletes it.

import { loadRepos, readRepoDir } from '../rpmmd/index.ts';
import type { Sysroot } from '../sysroot/sysroot.ts';
import { joinPath } from '../util/path.ts';

/** The stateroot's rpm-md cache folder. */
export function rpmmdCacheDir(sysroot: Sysroot, osname: string): string {
  return sysroot.abs(`ostree/deploy/${osname}/var/cache/rpm-ostree`);
}

/** Downloads fresh metadata of the enabled repos (force: even when not expired); answers their ids. */
export async function refreshRpmmd(sysroot: Sysroot, osname: string, opts: { reposDir?: string; force?: boolean } = {}): Promise<string[]> {
  const d = sysroot.deployments.find((x) => x.osname === osname);
  const dir = opts.reposDir ?? (d ? joinPath(sysroot.deploymentPath(d), 'etc/yum.repos.d') : null);
  if (!dir || !(await sysroot.fs.lstat(dir))) return [];
  const repos = await readRepoDir(sysroot.host, dir, { basearch: 'x86_64', arch: 'x86_64' });
  const { loaded } = await loadRepos(sysroot.host, repos, { cacheDir: joinPath(rpmmdCacheDir(sysroot, osname), 'repomd'), types: ['primary', 'filelists'], ...(opts.force ? { refresh: true } : {}) });
  return loaded.map((m) => m.repo.id);
}

/** `cleanup -m`: the cached rpm-md metadata and downloaded packages go. */
export async function cleanRpmmdCache(sysroot: Sysroot, osname: string): Promise<void> {
  await sysroot.fs.rmrf(rpmmdCacheDir(sysroot, osname));
}

// Opening packages for compose with src/rpm: a package file on the host (its payload streamed
// from an open handle), or a package already in the package cache from the header bytes its
// commit keeps in `rpmostree.metadata` (checked against `rpmostree.metadata_sha256`) — so a
// recompose never downloads packages it has already imported.

import type { FsHost } from '../host.ts';
import type { Repo } from '../repo/repo.ts';
import { resolveRev } from '../repo/refs.ts';
import { openRpm, parseRpm, type RpmPackage } from '../rpm/index.ts';
import { toHex } from '../util/bytes.ts';
import { CorruptionError } from '../util/errors.ts';
import type { ComposePackage } from './package.ts';

/** An RPM file opened for compose; `close()` releases the handle once it has been imported. */
export async function openRpmFile(fs: FsHost, path: string): Promise<RpmPackage & { close(): Promise<void> }> {
  const h = await fs.openRead(path);
  try {
    const pkg = await openRpm(h, path.replace(/.*\//, ''));
    return Object.assign(pkg, { close: () => h.close() });
  } catch (e) {
    await h.close();
    throw e;
  }
}

/** The headers of a package in the cache (no payload: it is already in the commit's tree). */
export async function openCachedPackage(cache: Repo, ref: string): Promise<ComposePackage> {
  const csum = (await resolveRev(cache, ref))!;
  const commit = await cache.loadCommit(csum);
  const get = (k: string) => commit.metadata.find(([x]) => x === k)?.[1];
  const md = get('rpmostree.metadata');
  const sha = get('rpmostree.metadata_sha256');
  if (!md || md.type !== 'ay' || !sha || sha.type !== 's') throw new CorruptionError(`${ref} (${csum}): no rpmostree.metadata in the package commit`);
  const bytes = md.value as Uint8Array;
  const h = cache.createSha256();
  h.update(bytes);
  if (toHex(h.digest()) !== sha.value) throw new CorruptionError(`${ref} (${csum}): rpmostree.metadata does not match rpmostree.metadata_sha256`);
  const pkg: ComposePackage = parseRpm(bytes, ref);
  return pkg;
}

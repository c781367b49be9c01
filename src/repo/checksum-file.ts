// Computing the OSTree checksum of a file or directory on disk without a repository
// (`ostree checksum`): content objects hash header + content, directories their dirmeta.

import type { Host } from '../host.ts';
import { encodeDirMeta, fileStreamHeader, type Xattr } from '../format/objects.ts';
import { readXattrs } from './repo.ts';
import { selectHashProvider } from '../util/sha256.ts';
import { toHex } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';
import { hashFileInto } from '../util/hash-file.ts';

export async function checksumPath(host: Host, path: string, opts: { ignoreXattrs?: boolean } = {}): Promise<string> {
  const fs = host.fs;
  const st = await fs.lstat(path);
  if (!st) throw new XylemError(`${path}: No such file or directory`);
  const xattrs: Xattr[] = opts.ignoreXattrs ? [] : (await readXattrs(fs, path)).filter((x) => x.name !== 'user.ostreemeta');
  const hp = selectHashProvider(host.hash);
  const h = hp.createSha256();
  if (st.kind === 'dir') {
    h.update(encodeDirMeta({ uid: st.uid, gid: st.gid, mode: st.mode, xattrs }));
    return toHex(h.digest());
  }
  if (st.kind === 'symlink') {
    h.update(fileStreamHeader({ uid: st.uid, gid: st.gid, mode: st.mode, rdev: 0, symlinkTarget: await fs.readlink(path), xattrs }));
    return toHex(h.digest());
  }
  if (st.kind !== 'file') throw new XylemError(`${path}: unsupported file type`);
  h.update(fileStreamHeader({ uid: st.uid, gid: st.gid, mode: st.mode, rdev: 0, symlinkTarget: '', xattrs }));
  await hashFileInto(fs, path, h);
  return toHex(h.digest());
}

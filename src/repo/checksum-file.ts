// Computing the OSTree checksum of a file or directory on disk without a repository
// (`ostree checksum`): content objects hash header + content, directories their dirmeta.

import type { Host } from '../host.ts';
import { encodeDirMeta, fileStreamHeader, type Xattr } from '../format/objects.ts';
import { readXattrs } from './repo.ts';
import { selectHashProvider } from '../util/sha256.ts';
import { toHex } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';

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
  const fh = await fs.openRead(path);
  try {
    const buf = new Uint8Array(1 << 20);
    let pos = 0;
    for (;;) {
      const n = await fh.read(buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    await fh.close();
  }
  return toHex(h.digest());
}

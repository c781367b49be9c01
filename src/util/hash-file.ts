// Feeds a file's content into an incremental SHA-256 in fixed-size chunks (never the whole file
// in memory): used by commit, fsck and `checksum` for large files.

import type { FsHost, Sha256 } from '../host.ts';
import { CHUNK_SIZE, borrowChunk, returnChunk } from './chunk-pool.ts';

/** Hashes the content of `path` into `h`; returns the number of bytes read. */
export async function hashFileInto(fs: FsHost, path: string, h: Sha256, chunkSize = 1 << 20): Promise<number> {
  const fh = await fs.openRead(path);
  const pooled = chunkSize === CHUNK_SIZE;
  const buf = pooled ? borrowChunk() : new Uint8Array(chunkSize);
  try {
    let pos = 0;
    for (;;) {
      const n = await fh.read(buf, 0, buf.length, pos);
      if (n === 0) return pos;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    await fh.close();
    if (pooled) returnChunk(buf);
  }
}

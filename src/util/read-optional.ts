// Reading a file that may legitimately be absent (a cache entry, a keyring, a summary.sig): null
// when it or a parent is missing, every other error thrown as it came.

import type { FsHost } from '../host.ts';
import { errnoCode } from './errors.ts';

/** The file's bytes, or null when it does not exist (ENOENT, or a parent that is not a directory). */
export async function readFileOptional(fs: FsHost, path: string): Promise<Uint8Array | null> {
  try {
    return await fs.readFile(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

// Atomic file replacement, the one way the engine writes a whole file: a temp file beside the
// target (exclusive create), fsync, rename over the target, fsync the directory — as libostree's
// glnx_file_replace_contents_at. A reader sees the old file or the new one, never a partial one.

import type { FsHost } from '../host.ts';

const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Six random letters/digits for temp names (as glnx's mkstemp-style XXXXXX). */
export function randomSuffix(): string {
  const b = new Uint8Array(6);
  crypto.getRandomValues(b);
  let s = '';
  for (const x of b) s += SUFFIX_ALPHABET[x % 62];
  return s;
}

/** Writes a file atomically: temp file beside it, fsync, rename, fsync the directory. */
export async function writeFileAtomic(
  fs: FsHost,
  path: string,
  data: Uint8Array,
  opts: { mode?: number; fsync?: boolean } = {},
): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new TypeError('writeFileAtomic: a file path is required');
  if (!(data instanceof Uint8Array)) throw new TypeError(`writeFileAtomic: ${path}: data must be a Uint8Array`);
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash);
  const tmp = `${dir}/.tmp-${path.slice(slash + 1)}-${randomSuffix()}`;
  const doSync = opts.fsync ?? true;
  try {
    await fs.writeFile(tmp, data, { mode: opts.mode ?? 0o644, fsync: doSync, exclusive: true });
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (doSync) await fs.fsyncDir(dir);
}

/**
 * writeFileAtomic for data that comes in pieces (a compressed stream as it is made): written to
 * the temp file piece by piece, so the whole file is never in memory. Returns the bytes written.
 */
export async function writeFileAtomicStream(
  fs: FsHost,
  path: string,
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: { mode?: number; fsync?: boolean } = {},
): Promise<number> {
  if (typeof path !== 'string' || path === '') throw new TypeError('writeFileAtomicStream: a file path is required');
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash);
  const tmp = `${dir}/.tmp-${path.slice(slash + 1)}-${randomSuffix()}`;
  const doSync = opts.fsync ?? true;
  let total = 0;
  try {
    const fh = await fs.openWrite(tmp, { mode: opts.mode ?? 0o644, fsync: doSync, exclusive: true });
    try {
      for await (const piece of pieces) {
        if (!(piece instanceof Uint8Array)) throw new TypeError(`writeFileAtomicStream: ${path}: pieces must be Uint8Arrays`);
        if (piece.length === 0) continue;
        await fh.write(piece);
        total += piece.length;
      }
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (doSync) await fs.fsyncDir(dir);
  return total;
}

// The paths a %transfiletriggerin receives on stdin, as rpm-ostree computes them
// (find_and_write_matching_files in rpmostree-scripts.cxx): every non-directory entry under each
// pattern directory of the root, recursively, printed with a leading '/', one per line. Symlinks
// to directories are listed, not followed. Streamed in chunks: memory stays flat however many
// files match.

import type { FsHost } from '../../host.ts';
import { XylemError } from '../../util/errors.ts';

const CHUNK = 64 * 1024;
const MAX_DEPTH = 256;
const encoder = new TextEncoder();

async function* walk(fs: FsHost, hostDir: string, shown: string, depth: number): AsyncGenerator<string> {
  if (depth > MAX_DEPTH) throw new XylemError(`file triggers: ${shown} is nested deeper than ${MAX_DEPTH} levels`, 'ELOOP');
  let entries;
  try {
    entries = await fs.readdir(hostDir);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw e;
  }
  for (const ent of entries) {
    if (ent.name.includes('\n')) continue; // cannot be told apart on a line-based stdin
    if (ent.kind === 'dir') yield* walk(fs, `${hostDir}/${ent.name}`, `${shown}/${ent.name}`, depth + 1);
    else yield `${shown}/${ent.name}`;
  }
}

/** Paths under each pattern (`usr/lib/foo`, no leading '/') of the root, one at a time. */
export async function* matchingPaths(fs: FsHost, root: string, patterns: string[]): AsyncGenerator<string> {
  for (const p of patterns) {
    if (p.split('/').some((c) => c === '..' || c === '.')) continue;
    // Every component must be a real directory: a symlinked component is not followed out of the root.
    let cur = root;
    let ok = true;
    for (const c of p.split('/').filter(Boolean)) {
      cur = `${cur}/${c}`;
      const st = await fs.lstat(cur);
      if (!st || st.kind !== 'dir') {
        ok = false;
        break;
      }
    }
    if (ok) yield* walk(fs, cur, `/${p}`, 0);
  }
}

/** Groups paths into newline-terminated chunks for a program's stdin; counts them in `counter`. */
export async function* pathChunks(paths: AsyncIterable<string>, counter: { n: number }): AsyncGenerator<Uint8Array> {
  let buf = '';
  for await (const p of paths) {
    counter.n++;
    buf += p + '\n';
    if (buf.length >= CHUNK) {
      yield encoder.encode(buf);
      buf = '';
    }
  }
  if (buf !== '') yield encoder.encode(buf);
}

/**
 * Starts an async iterator and reads its first item, so a caller can skip a trigger that matches
 * nothing without walking twice. Resolves null when empty; otherwise an iterable replaying it.
 */
export async function peek<T>(it: AsyncIterable<T>): Promise<AsyncIterable<T> | null> {
  const iter = it[Symbol.asyncIterator]();
  const first = await iter.next();
  if (first.done) return null;
  return {
    async *[Symbol.asyncIterator]() {
      yield first.value;
      for (;;) {
        const n = await iter.next();
        if (n.done) return;
        yield n.value;
      }
    },
  };
}

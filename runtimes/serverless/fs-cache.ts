// A DeltaCache in a local folder (Node, Bun, Deno): <dir>/<key>, written atomically (temp file,
// fsync, rename) through any FsHost, so a crash never leaves a half-written delta file behind.
// check() proves at start that the folder can be created, written and read back, and says what
// to fix when it cannot (the folder's owner or mode, or Deno's --allow-read/--allow-write).

import type { FsHost } from '../../src/host.ts';
import type { DeltaCache } from '../../src/delta/on-demand-cache.ts';
import { checkCacheKey } from '../../src/delta/on-demand-cache.ts';
import { writeFileAtomic } from '../../src/util/atomic-write.ts';

const PROBE = '.xylem-cache-check';

function describeError(e: unknown): string {
  const err = e as { name?: string; code?: string; message?: string };
  const msg = err?.message ?? String(e);
  const denoPermission = err?.name === 'NotCapable' || err?.name === 'PermissionDenied' || /--allow-(read|write)|Requires (read|write) access/.test(msg);
  const hint = denoPermission
    ? 'under Deno, run with --allow-read=DIR --allow-write=DIR for the cache folder'
    : /EACCES|EPERM|EROFS|permission denied|read-only/i.test(`${err?.code ?? ''} ${msg}`)
      ? "give the service's user write access to the folder (or choose another XYLEM_CACHE_DIR)"
      : 'choose a writable folder';
  return `${msg} (${hint})`;
}

export class FsDeltaCache implements DeltaCache {
  readonly name = 'fs';
  constructor(
    private readonly fs: FsHost,
    private readonly dir: string,
  ) {
    if (typeof dir !== 'string' || dir === '') throw new Error('FsDeltaCache: a folder is required');
  }

  /** Creates the folder if needed, writes a probe file atomically, reads it back, removes it. */
  async check(): Promise<void> {
    const probe = `${this.dir}/${PROBE}`;
    const data = new TextEncoder().encode(`xylem delta cache write check ${Date.now()}\n`);
    let step = 'create or open';
    try {
      await this.fs.mkdir(this.dir, { recursive: true, mode: 0o755 });
      step = 'write in';
      await writeFileAtomic(this.fs, probe, data, { fsync: true });
      step = 'read from';
      const back = await this.fs.readFile(probe);
      if (back.length !== data.length || back.some((b, i) => b !== data[i])) throw new Error('the file read back differs from the one written');
      step = 'remove a file from';
      await this.fs.unlink(probe);
    } catch (e) {
      throw new Error(`cache folder ${this.dir}: cannot ${step} it: ${describeError(e)}`);
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    checkCacheKey(key);
    const p = `${this.dir}/${key}`;
    const st = await this.fs.stat(p);
    if (!st || st.kind !== 'file') return null;
    return this.fs.readFile(p);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    checkCacheKey(key);
    const p = `${this.dir}/${key}`;
    await this.fs.mkdir(p.slice(0, p.lastIndexOf('/')), { recursive: true, mode: 0o755 });
    await writeFileAtomic(this.fs, p, data, { fsync: true });
  }
}

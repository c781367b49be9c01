// Fault injection for crash campaigns: a wrapper around the posix FsHost that SIGKILLs its own
// process right before the Nth mutating file-system operation ("the machine died here"), and/or
// reports how many mutating operations the process made. There is no upstream equivalent (libostree
// is tested under faults with external tooling); tools/crash-campaign.mjs drives it.
//
//   XYLEM_CRASH_AT=N[:SEED]  kill before mutating op N (1-based). With SEED, a data write chosen as
//                            the kill point first writes a seeded-random prefix of its bytes (a
//                            write(2) cut short by the kill), so torn files are exercised too.
//   XYLEM_CRASH_COUNT=FILE   at exit, write the number of mutating ops made to FILE.
//
// Decided once when the host is built: with neither variable set the FsHost is returned untouched.

import * as nodeFs from 'node:fs';
import process from 'node:process';
import type { FsHost, WriteHandle, WriteOptions, XattrHost } from '../../src/host.ts';

/** Path-based FsHost methods that change the file system. */
const MUTATING = [
  'mkdir',
  'writeFile',
  'openWrite',
  'rename',
  'link',
  'symlink',
  'unlink',
  'rmdir',
  'rmrf',
  'chmod',
  'lchown',
  'lutimes',
  'fsyncDir',
  'copyFile',
  'syncfs',
  'mkWhiteout',
  'setImmutable',
] as const;

export interface CrashPlan {
  /** Kill before this mutating op (1-based); 0 = never. */
  killAt: number;
  /** Seed for torn writes; null = kill cleanly before the op. */
  seed: number | null;
  /** Where to write the op count at exit, or null. */
  countFile: string | null;
}

/** Parses the two environment variables; null when fault injection is off. Throws on bad syntax. */
export function crashPlanFromEnv(env: Record<string, string | undefined>): CrashPlan | null {
  const at = env.XYLEM_CRASH_AT;
  const countFile = env.XYLEM_CRASH_COUNT || null;
  if ((at === undefined || at === '') && countFile === null) return null;
  let killAt = 0;
  let seed: number | null = null;
  if (at !== undefined && at !== '') {
    const m = /^(\d{1,9})(?::(\d{1,10}))?$/.exec(at);
    if (!m) throw new Error(`XYLEM_CRASH_AT must be N or N:SEED (decimal), got '${at}'`);
    killAt = Number(m[1]);
    seed = m[2] !== undefined ? Number(m[2]) >>> 0 : null;
  }
  return { killAt, seed, countFile };
}

/** xorshift32 of the seed mixed with the op number: the fraction of a torn write to keep. */
function tornFraction(seed: number, n: number): number {
  let s = (seed ^ Math.imul(n, 0x9e3779b1)) >>> 0 || 1;
  for (let i = 0; i < 4; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
  }
  return s / 2 ** 32;
}

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  // Not reached, except as the init of a pid namespace (pid 1), to which the kernel does not
  // deliver its own SIGKILL: end at once with the status a shell reports for a SIGKILL.
  process.exit(137);
}

/** Wraps `fs` according to `plan` (see the header). */
export function withCrashInjection(fs: FsHost, plan: CrashPlan): FsHost {
  let n = 0;
  if (plan.countFile !== null) {
    const file = plan.countFile;
    process.once('exit', () => {
      try {
        nodeFs.writeFileSync(file, `${n}\n`);
      } catch {
        // the count is a debugging aid; never turn an exit into a crash
      }
    });
  }
  /** Counts one op; kills first when it is the chosen one. Returns true for "tear this write". */
  const step = (): boolean => {
    n++;
    if (plan.killAt > 0 && n >= plan.killAt) {
      if (plan.seed === null) die();
      return true;
    }
    return false;
  };
  const tear = async (write: (part: Uint8Array) => Promise<void>, data: Uint8Array): Promise<never> => {
    const keep = Math.floor(tornFraction(plan.seed!, n) * data.byteLength);
    if (keep > 0) {
      try {
        await write(data.subarray(0, keep));
      } catch {
        // dying anyway
      }
    }
    die();
  };
  const wrapHandle = (h: WriteHandle): WriteHandle => ({
    async write(chunk: Uint8Array): Promise<void> {
      if (step()) await tear((p) => h.write(p), chunk);
      return h.write(chunk);
    },
    async sync(): Promise<void> {
      if (step()) die();
      return h.sync();
    },
    close: () => h.close(),
  });

  const out: FsHost = Object.create(null);
  for (const key of Object.keys(fs) as Array<keyof FsHost>) {
    const v = fs[key];
    (out as unknown as Record<string, unknown>)[key] = typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(fs) : v;
  }
  for (const key of MUTATING) {
    const orig = fs[key] as ((...a: unknown[]) => Promise<unknown>) | undefined;
    if (typeof orig !== 'function') continue;
    (out as unknown as Record<string, unknown>)[key] = async (...args: unknown[]): Promise<unknown> => {
      if (step()) die();
      return orig.apply(fs, args);
    };
  }
  out.writeFile = async (path: string, data: Uint8Array, opts?: WriteOptions): Promise<void> => {
    if (step()) await tear((p) => fs.writeFile(path, p, opts), data);
    return fs.writeFile(path, data, opts);
  };
  out.openWrite = async (path: string, opts?: WriteOptions): Promise<WriteHandle> => {
    if (step()) die();
    return wrapHandle(await fs.openWrite(path, opts));
  };
  if (fs.xattrs !== undefined) {
    const x: XattrHost = fs.xattrs;
    out.xattrs = {
      list: (p) => x.list(p),
      get: (p, name) => x.get(p, name),
      async set(p, name, value) {
        if (step()) die();
        return x.set(p, name, value);
      },
      async remove(p, name) {
        if (step()) die();
        return x.remove(p, name);
      },
    };
  }
  return out;
}

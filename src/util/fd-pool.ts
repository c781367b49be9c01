// A bounded pool of file descriptors for the engine: every FsHost call that opens a descriptor
// (readFile, writeFile, copyFile, readdir, fsyncDir, rmrf, and the handles of openRead/openWrite
// until they are closed) first takes a slot, so a walk that starts thousands of reads at once
// (pull-local, checkout, fsck, commit, delta generation) queues instead of failing with EMFILE.
// libostree needs no such pool because it works one object at a time with *at() calls on a few
// directory fds; Xylem overlaps its I/O, so it caps it here, once, for every entry point (Repo
// wraps its host's filesystem with boundedFs()).
//
// Deadlock freedom: long-lived handles take a slot from a smaller pool (LONG_SLOTS) as well, so
// a task that holds a handle and then needs a one-shot call (readFile, readdir…) always finds a
// slot eventually: one-shot calls never wait for anything but a slot.

import type { DirEntry, FsHost, ReadHandle, WriteHandle, WriteOptions } from '../host.ts';

/** Descriptors the engine holds at most (a process limit of 256 leaves room for Node's own). */
export const DEFAULT_FD_SLOTS = 128;

/** A counting semaphore; waiters are served first come, first served. */
export class Semaphore {
  private free: number;
  private readonly queue: Array<() => void> = [];
  private head = 0;

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`Semaphore: invalid size ${slots}`);
    this.free = slots;
  }

  /** Slots in use. */
  get used(): number {
    return this.slots - this.free;
  }

  /** Resolves once a slot is held (synchronously available slots resolve without queueing). */
  acquire(): Promise<void> | undefined {
    if (this.free > 0 && this.head === this.queue.length) {
      this.free--;
      return undefined;
    }
    return new Promise<void>((resolve) => this.queue.push(resolve));
  }

  release(): void {
    if (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as () => void;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      next(); // the slot passes straight to the next waiter
      return;
    }
    this.free++;
  }

  /** Runs `f` holding a slot. */
  async run<T>(f: () => Promise<T>): Promise<T> {
    const w = this.acquire();
    if (w) await w;
    try {
      return await f();
    } finally {
      this.release();
    }
  }
}

const wrapped = new WeakMap<FsHost, FsHost>();
const BOUNDED = Symbol('xylem.boundedFs');

/**
 * `fs` with at most `slots` descriptors open through it at once (one wrapper per FsHost, shared by
 * every repository opened on it, so the bound holds for the whole process).
 */
export function boundedFs(fs: FsHost, slots: number = DEFAULT_FD_SLOTS): FsHost {
  if ((fs as unknown as Record<symbol, unknown>)[BOUNDED]) return fs;
  const have = wrapped.get(fs);
  if (have) return have;
  if (!Number.isInteger(slots) || slots < 4) throw new RangeError(`boundedFs: invalid size ${slots}`);
  const all = new Semaphore(slots);
  const long = new Semaphore(Math.max(1, Math.floor((slots * 3) / 4)));
  const one = <T>(f: () => Promise<T>): Promise<T> => all.run(f);
  const holdLong = async <H extends { close(): Promise<void> }>(open: () => Promise<H>): Promise<H> => {
    const w1 = long.acquire();
    if (w1) await w1;
    const w2 = all.acquire();
    if (w2) await w2;
    let h: H;
    try {
      h = await open();
    } catch (e) {
      all.release();
      long.release();
      throw e;
    }
    let closed = false;
    const close = h.close.bind(h);
    h.close = async () => {
      if (closed) return;
      closed = true;
      try {
        await close();
      } finally {
        all.release();
        long.release();
      }
    };
    return h;
  };
  const over: Record<string | symbol, unknown> = {
    [BOUNDED]: true,
    readFile: (p: string) => one(() => fs.readFile(p)),
    writeFile: (p: string, d: Uint8Array, o?: WriteOptions) => one(() => fs.writeFile(p, d, o)),
    copyFile: (a: string, b: string) => one(() => fs.copyFile(a, b)),
    readdir: (p: string): Promise<DirEntry[]> => one(() => fs.readdir(p)),
    fsyncDir: (p: string) => one(() => fs.fsyncDir(p)),
    rmrf: (p: string) => one(() => fs.rmrf(p)),
    openRead: (p: string): Promise<ReadHandle> => holdLong(() => fs.openRead(p)),
    openWrite: (p: string, o?: WriteOptions): Promise<WriteHandle> => holdLong(() => fs.openWrite(p, o)),
  };
  if (fs.syncfs) over.syncfs = (p: string) => one(() => fs.syncfs!(p));
  if (fs.setImmutable) over.setImmutable = (p: string, v: boolean) => one(() => fs.setImmutable!(p, v));
  // Everything else is the host's own member, called on the host itself.
  const bound = new Map<string | symbol, unknown>();
  const out = new Proxy(fs, {
    get(target, prop) {
      if (prop in over) return over[prop];
      const v = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      let b = bound.get(prop);
      if (!b) bound.set(prop, (b = (v as (...a: unknown[]) => unknown).bind(target)));
      return b;
    },
    has(target, prop) {
      return prop in over || Reflect.has(target, prop);
    },
  });
  wrapped.set(fs, out);
  return out;
}

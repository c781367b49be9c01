// The engine's descriptor pool (src/util/fd-pool.ts): through boundedFs() no more than the given
// number of descriptors are ever open at once, whatever the callers start, handles hold their slot
// until closed, failures give the slot back, and a task holding a handle can still make one-shot
// calls while the long-lived handles are at their limit (no deadlock).

import { describe, expect, it } from 'vitest';
import { createMemoryFs } from '../../runtimes/memory/fs.ts';
import type { FsHost } from '../../src/host.ts';
import { Semaphore, boundedFs } from '../../src/util/fd-pool.ts';

/** An in-memory fs that counts descriptors open at once (each call opens one while it runs). */
function countingFs(): { fs: FsHost; peak: () => number; open: () => number } {
  const inner = createMemoryFs();
  let open = 0;
  let peak = 0;
  const tick = () => new Promise<void>((r) => setTimeout(r, 1));
  const enter = () => {
    open++;
    peak = Math.max(peak, open);
  };
  const one = async <T>(f: () => Promise<T>): Promise<T> => {
    enter();
    try {
      await tick();
      return await f();
    } finally {
      open--;
    }
  };
  const fs: FsHost = Object.assign(Object.create(null), inner, {
    lstat: (p: string) => inner.lstat(p),
    stat: (p: string) => inner.stat(p),
    mkdir: (p: string, o?: { mode?: number; recursive?: boolean }) => inner.mkdir(p, o),
    readFile: (p: string) => one(() => inner.readFile(p)),
    writeFile: (p: string, d: Uint8Array) => one(() => inner.writeFile(p, d)),
    readdir: (p: string) => one(() => inner.readdir(p)),
    openRead: async (p: string) => {
      enter();
      await tick();
      const h = await inner.openRead(p).catch((e) => {
        open--;
        throw e;
      });
      return { read: h.read.bind(h), close: async () => (open--, h.close()) };
    },
  }) as FsHost;
  return { fs, peak: () => peak, open: () => open };
}

describe('boundedFs', () => {
  it('never has more descriptors open than its slots', async () => {
    const c = countingFs();
    await c.fs.mkdir('/d', { recursive: true });
    for (let i = 0; i < 50; i++) await c.fs.writeFile(`/d/${i}`, new Uint8Array([i]));
    const fs = boundedFs(c.fs, 8);
    expect(boundedFs(c.fs, 8)).toBe(fs); // one pool per host
    expect(boundedFs(fs)).toBe(fs);
    const out = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        if (i % 3 === 0) return (await fs.readFile(`/d/${i % 50}`))[0];
        if (i % 3 === 1) return (await fs.readdir('/d')).length;
        const h = await fs.openRead(`/d/${i % 50}`);
        const b = new Uint8Array(1);
        await h.read(b, 0, 1, 0);
        // a one-shot call while holding a handle
        await fs.readFile(`/d/${(i + 1) % 50}`);
        await h.close();
        await h.close(); // a second close gives nothing back twice
        return b[0];
      }),
    );
    expect(out[0]).toBe(0);
    expect(out[1]).toBe(50);
    expect(out[2]).toBe(2);
    expect(c.peak()).toBeLessThanOrEqual(8);
    expect(c.peak()).toBeGreaterThan(1);
    expect(c.open()).toBe(0);
  });

  it('gives the slot back when an open fails', async () => {
    const c = countingFs();
    const fs = boundedFs(c.fs, 4);
    for (let i = 0; i < 20; i++) await expect(fs.openRead(`/missing-${i}`)).rejects.toThrow();
    for (let i = 0; i < 20; i++) await expect(fs.readFile(`/missing-${i}`)).rejects.toThrow();
    // all slots free again: 4 handles open at once
    await c.fs.writeFile('/f', new Uint8Array([1]));
    const hs = await Promise.all([0, 1, 2].map(() => fs.openRead('/f')));
    await Promise.all(hs.map((h) => h.close()));
    expect(c.open()).toBe(0);
  });
});

describe('Semaphore', () => {
  it('serves waiters in order and never exceeds its size', async () => {
    const s = new Semaphore(3);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        s.run(async () => {
          active++;
          peak = Math.max(peak, active);
          order.push(i);
          await new Promise((r) => setTimeout(r, 1));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(order).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(s.used).toBe(0);
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});

// A bounded pool for I/O-heavy tasks (importing or checking out files). submit() waits only for a
// free slot, so a producer walking a tree is held back (bounded memory) while the pool keeps the
// thread pool and every core busy; drain() waits for the rest and rethrows the first error.

export class WorkPool {
  private active = 0;
  private waiters: Array<() => void> = [];
  private idle: Array<() => void> = [];
  private error: unknown = null;

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`WorkPool: invalid size ${max}`);
  }

  async submit(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.max) await new Promise<void>((r) => this.waiters.push(r));
    if (this.error) throw this.error;
    this.active++;
    task()
      .catch((e: unknown) => {
        this.error ??= e;
      })
      .finally(() => {
        this.active--;
        this.waiters.shift()?.();
        if (this.active === 0) for (const r of this.idle.splice(0)) r();
      });
  }

  async drain(): Promise<void> {
    while (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
    if (this.error) throw this.error;
  }
}

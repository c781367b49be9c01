// A bounded pool for I/O-heavy tasks (importing or checking out files). submit() waits only for a
// free slot, so a producer walking a tree is held back (bounded memory) while the pool keeps the
// thread pool and every core busy; drain() waits for the rest and rethrows the first error.

export class WorkPool {
  private active = 0;
  private activeWeight = 0;
  private waiters: Array<() => void> = [];
  private idle: Array<() => void> = [];
  private error: unknown = null;

  /**
   * `max` tasks at once; with `maxWeight`, also at most that much weight (say, bytes a task holds)
   * in flight, except that a task heavier than the budget still runs when it is alone.
   */
  constructor(
    private readonly max: number,
    private readonly maxWeight = Infinity,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`WorkPool: invalid size ${max}`);
    if (!(maxWeight > 0)) throw new RangeError(`WorkPool: invalid weight budget ${maxWeight}`);
  }

  async submit(task: () => Promise<void>, weight = 0): Promise<void> {
    if (!(weight >= 0) || !Number.isFinite(weight)) throw new RangeError(`WorkPool: invalid task weight ${weight}`);
    while (this.active >= this.max || (this.active > 0 && this.activeWeight + weight > this.maxWeight))
      await new Promise<void>((r) => this.waiters.push(r));
    if (this.error) throw this.error;
    this.active++;
    this.activeWeight += weight;
    task()
      .catch((e: unknown) => {
        this.error ??= e;
      })
      .finally(() => {
        this.active--;
        this.activeWeight -= weight;
        this.waiters.shift()?.();
        if (this.active === 0) for (const r of this.idle.splice(0)) r();
      });
  }

  async drain(): Promise<void> {
    while (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
    if (this.error) throw this.error;
  }
}

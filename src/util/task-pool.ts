// A bounded pool of tasks whose completion is tracked per group, without a promise per task:
// a producer walking a tree awaits submit() (which returns once the task has a slot, so the
// walk is held back and memory stays bounded), then awaits its group once. The pull engine uses
// it for content objects (one group per dirtree), where a promise and closure per object kept
// alive until the end of the pull grew memory with the repository.

/** Tasks counted together; wait() resolves once all of them settled, rejects with the first error. */
export class TaskGroup {
  private pending = 0;
  private error: unknown = null;
  private failed = false;
  private waiter: { resolve: () => void; reject: (e: unknown) => void } | null = null;

  /** @internal */
  started(): void {
    this.pending++;
  }

  /** @internal */
  settled(error: unknown, failed: boolean): void {
    if (failed && !this.failed) {
      this.failed = true;
      this.error = error;
    }
    this.pending--;
    if (this.pending === 0 && this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      if (this.failed) w.reject(this.error);
      else w.resolve();
    }
  }

  /** Whether a task of the group failed (producers stop submitting). */
  get hasFailed(): boolean {
    return this.failed;
  }

  wait(): Promise<void> {
    if (this.pending === 0) return this.failed ? Promise.reject(this.error) : Promise.resolve();
    if (this.waiter) throw new Error('TaskGroup: wait() called twice');
    return new Promise<void>((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }
}

export class TaskPool {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private head = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`TaskPool: invalid size ${size}`);
  }

  /** Runs `task` in `group` as soon as a slot is free; resolves when it has started. */
  async submit(group: TaskGroup, task: () => Promise<void>): Promise<void> {
    while (this.active >= this.size) await new Promise<void>((r) => this.waiters.push(r));
    this.active++;
    group.started();
    let p: Promise<void>;
    try {
      p = task();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => this.done(group, null, false),
      (e: unknown) => this.done(group, e, true),
    );
  }

  private done(group: TaskGroup, e: unknown, failed: boolean): void {
    this.active--;
    if (this.head < this.waiters.length) {
      const w = this.waiters[this.head]!;
      this.waiters[this.head++] = undefined as unknown as () => void;
      if (this.head === this.waiters.length) {
        this.waiters.length = 0;
        this.head = 0;
      }
      w();
    }
    group.settled(e, failed);
  }
}

// Cancellation for host transactions: an AbortSignal-style token the engine polls at its safe
// points (between phases, before every HTTP request) and that in-flight waits and requests
// listen to. Whoever owns the process (the CLI) trips it — on a cancel request from another
// process, or on SIGINT/SIGTERM — and the engine unwinds without publishing anything half-done.

import { XylemError } from '../util/errors.ts';

/** Thrown at a cancellation point once the token is tripped. */
export class CancelledError extends XylemError {
  constructor(message = 'Operation was cancelled') {
    super(message, 'ECANCELED');
    this.name = 'CancelledError';
  }
}

export class CancelToken {
  private reason: string | null = null;
  private readonly listeners = new Set<(reason: string) => void>();

  /** True once cancel() was called. */
  get cancelled(): boolean {
    return this.reason !== null;
  }

  /** Trips the token (idempotent) and notifies every listener once. */
  cancel(reason = 'Operation was cancelled'): void {
    if (this.reason !== null) return;
    if (typeof reason !== 'string' || reason === '') reason = 'Operation was cancelled';
    this.reason = reason;
    for (const l of [...this.listeners]) {
      try {
        l(reason);
      } catch {
        // a listener's failure must not stop the others
      }
    }
    this.listeners.clear();
  }

  /** A cancellation point: throws CancelledError when the token is tripped. */
  throwIfCancelled(): void {
    if (this.reason !== null) throw new CancelledError(this.reason);
  }

  /** Calls `fn` on cancellation (at once if already cancelled); returns an unsubscribe function. */
  onCancel(fn: (reason: string) => void): () => void {
    if (typeof fn !== 'function') throw new TypeError('onCancel: fn must be a function');
    if (this.reason !== null) {
      fn(this.reason);
      return () => undefined;
    }
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  /** Waits `ms` milliseconds; rejects with CancelledError as soon as the token trips. */
  sleep(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`sleep: invalid delay ${ms}`);
    this.throwIfCancelled();
    return new Promise<void>((resolve, reject) => {
      let off = () => undefined as void;
      const timer = setTimeout(() => {
        off();
        resolve();
      }, ms);
      off = this.onCancel((r) => {
        clearTimeout(timer);
        reject(new CancelledError(r));
      });
    });
  }

  /** An AbortSignal that aborts when the token trips (for fetch and other web APIs). */
  signal(): AbortSignal {
    const ctrl = new AbortController();
    this.onCancel((r) => ctrl.abort(new CancelledError(r)));
    return ctrl.signal;
  }
}

/** True for errors caused by a tripped token (directly or wrapped by a lower layer). */
export function isCancellation(e: unknown, token: CancelToken | null): boolean {
  if (e instanceof CancelledError) return true;
  return token !== null && token.cancelled;
}

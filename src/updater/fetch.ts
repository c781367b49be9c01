// The fetch() a host transaction pulls through: every request is a cancellation point, in-flight
// requests abort when the token trips (the error is marked not-retryable so the pull unwinds at
// once and discards its staging), and an optional per-request delay (the XYLEM_TEST_FETCH_DELAY_MS
// and XYLEM_TEST_FETCH_DELAY_MATCH test hooks) makes a transaction slow enough to observe and
// cancel from another process.

import { FetchError } from '../pull/fetcher.ts';
import { CancelledError, type CancelToken } from './cancel.ts';

export interface TransactionFetchOptions {
  token: CancelToken;
  /** Milliseconds to wait before each request (test hook; 0 = none). */
  delayMs?: number;
  /** Only delay requests whose URL matches (default: all). */
  delayMatch?: RegExp | null;
  /** Called with the URL and status of every response. */
  onResponse?: (url: string, status: number) => void;
}

/** Wraps `base` (the host's fetch) for a cancellable transaction. */
export function transactionFetch(base: typeof fetch, opts: TransactionFetchOptions): typeof fetch {
  if (typeof base !== 'function') throw new TypeError('transactionFetch: base fetch is required');
  const { token } = opts;
  const delay = opts.delayMs ?? 0;
  if (!Number.isFinite(delay) || delay < 0) throw new TypeError(`transactionFetch: invalid delay ${delay}`);
  const notRetryable = (reason: string) => new FetchError(reason, 0, false);
  const tokenSignal = token.signal();
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (token.cancelled) throw notRetryable('Operation was cancelled');
    const url = String(input instanceof Request ? input.url : input);
    if (delay > 0 && (!opts.delayMatch || opts.delayMatch.test(url))) {
      try {
        await token.sleep(delay);
      } catch (e) {
        if (e instanceof CancelledError) throw notRetryable(e.message);
        throw e;
      }
    }
    // One signal aborting on either the caller's (stall timeout, fetcher cancel) or the token's.
    const outer = init?.signal ?? null;
    const signal = outer ? AbortSignal.any([outer, tokenSignal]) : tokenSignal;
    try {
      const res = await base(input, { ...init, signal });
      opts.onResponse?.(url, res.status);
      return res;
    } catch (e) {
      if (token.cancelled) throw notRetryable('Operation was cancelled');
      throw e;
    }
  };
  return wrapped as typeof fetch;
}

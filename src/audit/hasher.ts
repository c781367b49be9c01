// Re-hashing for the audit, all in the WASM core: small objects are queued and hashed together
// through the core's 4-lane SIMD sha256Many (a batch is flushed when it is full or on the next
// macrotask, so objects that arrive together share lanes); big ones use the streaming hasher.

import type { Core, Sha256Stream } from '../../core-wasm/index.ts';

/** Inputs at most this big go through the batch. */
export const BATCH_MAX_INPUT = 256 * 1024;
const BATCH_MAX_ITEMS = 32;
const BATCH_MAX_BYTES = 4 * 1024 * 1024;

interface Pending {
  data: Uint8Array;
  resolve: (digest: Uint8Array) => void;
  reject: (e: unknown) => void;
}

export class AuditHasher {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  /** Objects hashed in SIMD batches / one at a time. */
  batched = 0;
  streamed = 0;
  batches = 0;

  constructor(private readonly core: Core) {}

  /** SHA-256 of `data`, batched with other small inputs when it is small. */
  hash(data: Uint8Array): Promise<Uint8Array> {
    if (data.length > BATCH_MAX_INPUT) {
      this.streamed++;
      return Promise.resolve(this.core.sha256(data));
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      this.pending.push({ data, resolve, reject });
      this.pendingBytes += data.length;
      if (this.pending.length >= BATCH_MAX_ITEMS || this.pendingBytes >= BATCH_MAX_BYTES) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setTimeout(() => this.flush(), 0);
      }
    });
  }

  /** A streaming hasher for content too big to hold twice. */
  stream(): Sha256Stream {
    this.streamed++;
    return this.core.createSha256();
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      const digests = this.core.sha256Many(batch.map((p) => p.data));
      this.batches++;
      this.batched += batch.length;
      batch.forEach((p, i) => p.resolve(digests[i]!));
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}

// The input side shared by the payload decoders (xz, bzip2): push() appends a chunk to one growing
// window (consumed bytes are compacted away only when room is needed, so no copy per push), then
// lets the decoder run over what is buffered; errors name the package and the compression.

import { RpmError, RpmErrorCode } from './errors.ts';

/** Input buffering for a push-fed decoder: chunks appended, consumed bytes dropped only when room is needed. */
export abstract class BufferedDecoder {
  protected buf = new Uint8Array(0);
  protected len = 0;
  protected pos = 0;
  protected final = false;
  constructor(protected readonly pkg: string) {}
  protected err(reason: string): RpmError {
    return new RpmError(RpmErrorCode.PAYLOAD, this.pkg, `${this.kind} payload is corrupt: ${reason}`);
  }
  protected abstract readonly kind: string;
  protected abstract run(): void;
  push(chunk: Uint8Array, final: boolean): void {
    if (this.final) throw this.err('data after the end of input');
    this.final = final;
    if (this.len + chunk.length > this.buf.length && this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.len);
      this.len -= this.pos;
      this.pos = 0;
    }
    if (this.len + chunk.length > this.buf.length) {
      const nb = new Uint8Array(Math.max(this.len + chunk.length, this.buf.length * 2, 64 * 1024));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
    this.run();
  }
  protected get avail(): number {
    return this.len - this.pos;
  }
  /** Throws a truncation error at the end of input, else returns false (wait for more). */
  protected need(n: number): boolean {
    if (this.avail >= n) return true;
    if (this.final) throw new RpmError(RpmErrorCode.TRUNCATED, this.pkg, `${this.kind} payload is truncated`);
    return false;
  }
}

// Finds block boundaries in a zstd stream (RFC 8878 frame and block headers only, no decoding) so
// the payload decoder can hand fzstd a bounded number of blocks per step: a block decodes to at
// most 128 KiB, so 32 blocks are at most 4 MiB, however few input bytes they take (an RLE block is
// 4 bytes). Skippable frames and frame checksums are walked over; anything malformed is left for
// fzstd to reject.

const BLOCKS_PER_STEP = 32;

export class ZstdCutter {
  /** bytes to pass before the next structure */
  private skip = 0;
  /** partial structure bytes being collected */
  private acc: number[] = [];
  private want = 4;
  private state: 'magic' | 'skipsize' | 'fhd' | 'block' | 'opaque' = 'magic';
  private checksum = false;
  private blocks = 0;

  /** The end (exclusive, within `chunk`) of the next step's input starting at `from`. */
  cut(chunk: Uint8Array, from: number): number {
    let p = from;
    while (p < chunk.length) {
      if (this.state === 'opaque') return chunk.length;
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - p);
        this.skip -= n;
        p += n;
        continue;
      }
      this.acc.push(chunk[p++]!);
      if (this.acc.length < this.want) continue;
      const a = this.acc;
      this.acc = [];
      switch (this.state) {
        case 'magic': {
          const m = (a[0]! | (a[1]! << 8) | (a[2]! << 16) | (a[3]! << 24)) >>> 0;
          if (m === 0xfd2fb528) {
            this.state = 'fhd';
            this.want = 1;
          } else if ((m & 0xfffffff0) === 0x184d2a50) {
            this.state = 'skipsize';
            this.want = 4;
          } else this.state = 'opaque';
          break;
        }
        case 'skipsize':
          this.skip = (a[0]! | (a[1]! << 8) | (a[2]! << 16) | (a[3]! << 24)) >>> 0;
          this.state = 'magic';
          this.want = 4;
          break;
        case 'fhd': {
          const fhd = a[0]!;
          const single = (fhd >> 5) & 1;
          this.checksum = ((fhd >> 2) & 1) === 1;
          const fcs = [single ? 1 : 0, 2, 4, 8][fhd >> 6]!;
          this.skip = (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + fcs;
          this.state = 'block';
          this.want = 3;
          break;
        }
        case 'block': {
          const v = a[0]! | (a[1]! << 8) | (a[2]! << 16);
          const type = (v >> 1) & 3;
          this.skip = type === 1 ? 1 : v >>> 3;
          if (v & 1) {
            this.skip += this.checksum ? 4 : 0;
            this.state = 'magic';
            this.want = 4;
          }
          if (++this.blocks % BLOCKS_PER_STEP === 0) {
            // cut after this block's data: finish skipping it first
            const n = Math.min(this.skip, chunk.length - p);
            this.skip -= n;
            p += n;
            return p;
          }
          break;
        }
      }
    }
    return p;
  }
}

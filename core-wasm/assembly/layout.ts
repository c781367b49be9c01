// Static memory layout shared by the kernels: fixed scratch buffers reserved at compile time
// (no allocation at run time), plus a growable arena above the static data for variable-size
// inputs such as dirtree tables. The JS facade learns every address through exported getters.

/** Size of the single-lane input buffer the caller copies message bytes into. */
export const INPUT_SIZE: i32 = 65536;
/** Bytes per streaming SHA-256 context (state, block buffer, counters), 16-byte aligned. */
export const CONTEXT_SIZE: i32 = 128;
/** Number of streaming contexts that can be resident at once. */
export const CONTEXT_COUNT: i32 = 32;
/** Bytes of message data per lane of the 4-lane SIMD kernel (a multiple of 64). */
export const LANE_SIZE: i32 = 16384;

/** Single-lane message input. */
export const INPUT_PTR: usize = memory.data(INPUT_SIZE, 16);
/** 32..128 bytes of digest output. */
export const OUTPUT_PTR: usize = memory.data(128, 16);
/** CONTEXT_COUNT streaming contexts, CONTEXT_SIZE bytes each. */
export const CONTEXTS_PTR: usize = memory.data(CONTEXT_SIZE * CONTEXT_COUNT, 16);
/** Four lane buffers of LANE_SIZE bytes each, lane i at LANES_PTR + i * LANE_SIZE. */
export const LANES_PTR: usize = memory.data(LANE_SIZE * 4, 16);
/** 4-lane state: 8 words x 4 lanes (one v128 per word). */
export const X4_STATE_PTR: usize = memory.data(128, 16);
/** Message schedule scratch for the single-lane kernel (64 words). */
export const W_PTR: usize = memory.data(256, 16);
/** Message schedule scratch for the 4-lane kernel (64 v128). */
export const W4_PTR: usize = memory.data(1024, 16);

/** First byte above all static data (16-byte aligned): where the arena starts. */
// @ts-ignore: __heap_base is a compiler builtin
export const ARENA_PTR: usize = (__heap_base + 15) & ~<usize>15;

/**
 * Makes sure `size` bytes are addressable from ARENA_PTR, growing memory if needed.
 * Returns ARENA_PTR, or 0 when memory cannot grow that far.
 */
export function arenaEnsure(size: usize): usize {
  if (size > 0x7fff0000) return 0;
  const end = ARENA_PTR + size;
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  return ARENA_PTR;
}

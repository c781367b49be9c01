// Entry point of the Xylem WASM core: re-exports the kernels and the memory-layout getters.
// Every function takes and returns plain numbers (pointers, lengths, counts); see each module
// for its memory protocol.

import {
  INPUT_SIZE, CONTEXT_SIZE, CONTEXT_COUNT, LANE_SIZE,
  INPUT_PTR, OUTPUT_PTR, CONTEXTS_PTR, LANES_PTR, ARENA_PTR,
} from './layout';

export { arenaEnsure } from './layout';
export { sha256Init, sha256Update, sha256Final, sha256Digest, sha256Blocks, sha256StateDigest } from './sha256';
export { sha256x4Init, sha256x4Blocks, sha256x4LaneState, sha256x4Digests } from './sha256x4';
export { treeDiff } from './treediff';

/** Layout version: bump when any address, size or record format changes. */
export function layoutVersion(): i32 { return 1; }
export function inputPtr(): usize { return INPUT_PTR; }
export function inputSize(): i32 { return INPUT_SIZE; }
export function outputPtr(): usize { return OUTPUT_PTR; }
export function contextsPtr(): usize { return CONTEXTS_PTR; }
export function contextSize(): i32 { return CONTEXT_SIZE; }
export function contextCount(): i32 { return CONTEXT_COUNT; }
export function lanesPtr(): usize { return LANES_PTR; }
export function laneSize(): i32 { return LANE_SIZE; }
export function arenaPtr(): usize { return ARENA_PTR; }

// Static deltas (src/delta): bspatch/bsdiff in OSTree's raw stream form, bupsplit chunking.
export { bspatch } from './bspatch';
export { bsdiff } from './bsdiff';
export { rollsumChunks, crc32 } from './rollsum';

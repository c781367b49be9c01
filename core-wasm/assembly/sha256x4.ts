// Multi-buffer SHA-256: four independent messages hashed at once, one per i32x4 lane (v128 SIMD).
// Protocol: the caller writes lane i's next blocks at LANES_PTR + i * LANE_SIZE (already padded
// where the message ends: the kernel only compresses whole 64-byte blocks), calls
// sha256x4Init() once, sha256x4Blocks(n) as often as needed (all lanes advance n blocks), then
// reads digests with sha256x4Digests(outPtr) or moves a lane's state into a single-lane state
// with sha256x4LaneState(lane, statePtr) to finish a longer message on the scalar kernel.

import { LANES_PTR, LANE_SIZE, X4_STATE_PTR, W4_PTR } from './layout';
import { K_PTR, IV_PTR } from './sha256';

// @ts-ignore: decorator
@inline function rotr4(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}

// @ts-ignore: decorator
@inline function bigSigma0(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 2), rotr4(x, 13)), rotr4(x, 22));
}

// @ts-ignore: decorator
@inline function bigSigma1(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 6), rotr4(x, 11)), rotr4(x, 25));
}

// @ts-ignore: decorator
@inline function smallSigma0(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 7), rotr4(x, 18)), i32x4.shr_u(x, 3));
}

// @ts-ignore: decorator
@inline function smallSigma1(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 17), rotr4(x, 19)), i32x4.shr_u(x, 10));
}

/** Sets all four lanes to the initial hash value. */
export function sha256x4Init(): void {
  for (let i: usize = 0; i < 8; i++) {
    v128.store(X4_STATE_PTR + (i << 4), i32x4.splat(load<u32>(IV_PTR + (i << 2))));
  }
}

/** Compresses `nblocks` blocks from each of the four lane buffers (nblocks <= LANE_SIZE / 64). */
export function sha256x4Blocks(nblocks: i32): void {
  const s = X4_STATE_PTR;
  let h0 = v128.load(s, 0), h1 = v128.load(s, 16), h2 = v128.load(s, 32), h3 = v128.load(s, 48);
  let h4 = v128.load(s, 64), h5 = v128.load(s, 80), h6 = v128.load(s, 96), h7 = v128.load(s, 112);
  const w = W4_PTR;
  const lane = <usize>LANE_SIZE;
  let p = LANES_PTR;
  for (let blk = 0; blk < nblocks; blk++) {
    // Load 4 words from each lane, byte-swap and transpose so that W[t] holds word t of every lane.
    for (let q: usize = 0; q < 64; q += 16) {
      const r0 = v128.load(p + q);
      const r1 = v128.load(p + lane + q);
      const r2 = v128.load(p + 2 * lane + q);
      const r3 = v128.load(p + 3 * lane + q);
      const t0 = i8x16.shuffle(r0, r1, 3, 2, 1, 0, 19, 18, 17, 16, 7, 6, 5, 4, 23, 22, 21, 20);
      const t1 = i8x16.shuffle(r0, r1, 11, 10, 9, 8, 27, 26, 25, 24, 15, 14, 13, 12, 31, 30, 29, 28);
      const t2 = i8x16.shuffle(r2, r3, 3, 2, 1, 0, 19, 18, 17, 16, 7, 6, 5, 4, 23, 22, 21, 20);
      const t3 = i8x16.shuffle(r2, r3, 11, 10, 9, 8, 27, 26, 25, 24, 15, 14, 13, 12, 31, 30, 29, 28);
      const o = w + (q << 2);
      v128.store(o, i64x2.shuffle(t0, t2, 0, 2), 0);
      v128.store(o, i64x2.shuffle(t0, t2, 1, 3), 16);
      v128.store(o, i64x2.shuffle(t1, t3, 0, 2), 32);
      v128.store(o, i64x2.shuffle(t1, t3, 1, 3), 48);
    }
    for (let t: usize = 256; t < 1024; t += 16) {
      const x = i32x4.add(v128.load(w + t - 256), smallSigma0(v128.load(w + t - 240)));
      const y = i32x4.add(v128.load(w + t - 112), smallSigma1(v128.load(w + t - 32)));
      v128.store(w + t, i32x4.add(x, y));
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    let t1: v128;
    for (let i: usize = 0; i < 64; i += 8) {
      const kw = K_PTR + (i << 2);
      const ww = w + (i << 4);
      t1 = i32x4.add(i32x4.add(i32x4.add(h, bigSigma1(e)), v128.bitselect(f, g, e)), i32x4.add(i32x4.splat(load<u32>(kw, 0)), v128.load(ww, 0)));
      d = i32x4.add(d, t1);
      h = i32x4.add(t1, i32x4.add(bigSigma0(a), v128.bitselect(a, c, v128.xor(b, c))));
      t1 = i32x4.add(i32x4.add(i32x4.add(g, bigSigma1(d)), v128.bitselect(e, f, d)), i32x4.add(i32x4.splat(load<u32>(kw, 4)), v128.load(ww, 16)));
      c = i32x4.add(c, t1);
      g = i32x4.add(t1, i32x4.add(bigSigma0(h), v128.bitselect(h, b, v128.xor(a, b))));
      t1 = i32x4.add(i32x4.add(i32x4.add(f, bigSigma1(c)), v128.bitselect(d, e, c)), i32x4.add(i32x4.splat(load<u32>(kw, 8)), v128.load(ww, 32)));
      b = i32x4.add(b, t1);
      f = i32x4.add(t1, i32x4.add(bigSigma0(g), v128.bitselect(g, a, v128.xor(h, a))));
      t1 = i32x4.add(i32x4.add(i32x4.add(e, bigSigma1(b)), v128.bitselect(c, d, b)), i32x4.add(i32x4.splat(load<u32>(kw, 12)), v128.load(ww, 48)));
      a = i32x4.add(a, t1);
      e = i32x4.add(t1, i32x4.add(bigSigma0(f), v128.bitselect(f, h, v128.xor(g, h))));
      t1 = i32x4.add(i32x4.add(i32x4.add(d, bigSigma1(a)), v128.bitselect(b, c, a)), i32x4.add(i32x4.splat(load<u32>(kw, 16)), v128.load(ww, 64)));
      h = i32x4.add(h, t1);
      d = i32x4.add(t1, i32x4.add(bigSigma0(e), v128.bitselect(e, g, v128.xor(f, g))));
      t1 = i32x4.add(i32x4.add(i32x4.add(c, bigSigma1(h)), v128.bitselect(a, b, h)), i32x4.add(i32x4.splat(load<u32>(kw, 20)), v128.load(ww, 80)));
      g = i32x4.add(g, t1);
      c = i32x4.add(t1, i32x4.add(bigSigma0(d), v128.bitselect(d, f, v128.xor(e, f))));
      t1 = i32x4.add(i32x4.add(i32x4.add(b, bigSigma1(g)), v128.bitselect(h, a, g)), i32x4.add(i32x4.splat(load<u32>(kw, 24)), v128.load(ww, 96)));
      f = i32x4.add(f, t1);
      b = i32x4.add(t1, i32x4.add(bigSigma0(c), v128.bitselect(c, e, v128.xor(d, e))));
      t1 = i32x4.add(i32x4.add(i32x4.add(a, bigSigma1(f)), v128.bitselect(g, h, f)), i32x4.add(i32x4.splat(load<u32>(kw, 28)), v128.load(ww, 112)));
      e = i32x4.add(e, t1);
      a = i32x4.add(t1, i32x4.add(bigSigma0(b), v128.bitselect(b, d, v128.xor(c, d))));
    }
    h0 = i32x4.add(h0, a); h1 = i32x4.add(h1, b); h2 = i32x4.add(h2, c); h3 = i32x4.add(h3, d);
    h4 = i32x4.add(h4, e); h5 = i32x4.add(h5, f); h6 = i32x4.add(h6, g); h7 = i32x4.add(h7, h);
    p += 64;
  }
  v128.store(s, h0, 0); v128.store(s, h1, 16); v128.store(s, h2, 32); v128.store(s, h3, 48);
  v128.store(s, h4, 64); v128.store(s, h5, 80); v128.store(s, h6, 96); v128.store(s, h7, 112);
}

/** Copies lane `lane`'s chaining state into an 8-word single-lane state at `statePtr`. */
export function sha256x4LaneState(lane: i32, statePtr: usize): void {
  const src = X4_STATE_PTR + (<usize>lane << 2);
  for (let i: usize = 0; i < 8; i++) {
    store<u32>(statePtr + (i << 2), load<u32>(src + (i << 4)));
  }
}

/** Writes the four lanes' digests (32 bytes each, big-endian) to `outPtr` .. outPtr + 128. */
export function sha256x4Digests(outPtr: usize): void {
  for (let lane: usize = 0; lane < 4; lane++) {
    for (let i: usize = 0; i < 8; i++) {
      store<u32>(outPtr + (lane << 5) + (i << 2), bswap<u32>(load<u32>(X4_STATE_PTR + (i << 4) + (lane << 2))));
    }
  }
}

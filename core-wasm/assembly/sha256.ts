// Single-lane streaming SHA-256 (FIPS 180-4) over caller-owned memory: no strings, no allocation.
// Protocol: the caller copies message bytes to INPUT_PTR (or anywhere in linear memory) and passes
// (ptr, len); a context is a CONTEXT_SIZE-byte area (e.g. one of the CONTEXTS_PTR slots) holding
//   [0, 32)  chaining state H0..H7 (native-endian u32)
//   [32, 96) partial block buffer
//   96       u32 bytes buffered
//   104      u64 total message bytes
// so any number of contexts can be in flight; digests are written big-endian as 32 bytes.

import { W_PTR } from './layout';

/** Round constants K[0..63]. */
export const K_PTR: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
], 16);

/** Initial hash value H(0). */
export const IV_PTR: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
], 16);

const BUF: usize = 32;
const BUFFERED: usize = 96;
const TOTAL: usize = 104;

/** Scratch context for one-shot digests (never handed to the caller). */
const ONESHOT_CTX: usize = memory.data(128, 16);

/** Compresses `nblocks` 64-byte blocks at `ptr` into the 8-word state at `state`. */
export function sha256Blocks(state: usize, ptr: usize, nblocks: i32): void {
  let h0 = load<u32>(state, 0), h1 = load<u32>(state, 4), h2 = load<u32>(state, 8), h3 = load<u32>(state, 12);
  let h4 = load<u32>(state, 16), h5 = load<u32>(state, 20), h6 = load<u32>(state, 24), h7 = load<u32>(state, 28);
  const w = W_PTR;
  for (let blk = 0; blk < nblocks; blk++) {
    for (let t: usize = 0; t < 64; t += 4) {
      store<u32>(w + t, bswap<u32>(load<u32>(ptr + t)));
    }
    for (let t: usize = 64; t < 256; t += 4) {
      const w15 = load<u32>(w + t - 60);
      const w2 = load<u32>(w + t - 8);
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
      store<u32>(w + t, load<u32>(w + t - 64) + s0 + load<u32>(w + t - 28) + s1);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    let t1: u32;
    for (let i: usize = 0; i < 256; i += 32) {
      const kw = K_PTR + i;
      const ww = w + i;
      t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + (g ^ (e & (f ^ g))) + load<u32>(kw, 0) + load<u32>(ww, 0);
      d += t1;
      h = t1 + (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) | (c & (a | b)));
      t1 = g + (rotr<u32>(d, 6) ^ rotr<u32>(d, 11) ^ rotr<u32>(d, 25)) + (f ^ (d & (e ^ f))) + load<u32>(kw, 4) + load<u32>(ww, 4);
      c += t1;
      g = t1 + (rotr<u32>(h, 2) ^ rotr<u32>(h, 13) ^ rotr<u32>(h, 22)) + ((h & a) | (b & (h | a)));
      t1 = f + (rotr<u32>(c, 6) ^ rotr<u32>(c, 11) ^ rotr<u32>(c, 25)) + (e ^ (c & (d ^ e))) + load<u32>(kw, 8) + load<u32>(ww, 8);
      b += t1;
      f = t1 + (rotr<u32>(g, 2) ^ rotr<u32>(g, 13) ^ rotr<u32>(g, 22)) + ((g & h) | (a & (g | h)));
      t1 = e + (rotr<u32>(b, 6) ^ rotr<u32>(b, 11) ^ rotr<u32>(b, 25)) + (d ^ (b & (c ^ d))) + load<u32>(kw, 12) + load<u32>(ww, 12);
      a += t1;
      e = t1 + (rotr<u32>(f, 2) ^ rotr<u32>(f, 13) ^ rotr<u32>(f, 22)) + ((f & g) | (h & (f | g)));
      t1 = d + (rotr<u32>(a, 6) ^ rotr<u32>(a, 11) ^ rotr<u32>(a, 25)) + (c ^ (a & (b ^ c))) + load<u32>(kw, 16) + load<u32>(ww, 16);
      h += t1;
      d = t1 + (rotr<u32>(e, 2) ^ rotr<u32>(e, 13) ^ rotr<u32>(e, 22)) + ((e & f) | (g & (e | f)));
      t1 = c + (rotr<u32>(h, 6) ^ rotr<u32>(h, 11) ^ rotr<u32>(h, 25)) + (b ^ (h & (a ^ b))) + load<u32>(kw, 20) + load<u32>(ww, 20);
      g += t1;
      c = t1 + (rotr<u32>(d, 2) ^ rotr<u32>(d, 13) ^ rotr<u32>(d, 22)) + ((d & e) | (f & (d | e)));
      t1 = b + (rotr<u32>(g, 6) ^ rotr<u32>(g, 11) ^ rotr<u32>(g, 25)) + (a ^ (g & (h ^ a))) + load<u32>(kw, 24) + load<u32>(ww, 24);
      f += t1;
      b = t1 + (rotr<u32>(c, 2) ^ rotr<u32>(c, 13) ^ rotr<u32>(c, 22)) + ((c & d) | (e & (c | d)));
      t1 = a + (rotr<u32>(f, 6) ^ rotr<u32>(f, 11) ^ rotr<u32>(f, 25)) + (h ^ (f & (g ^ h))) + load<u32>(kw, 28) + load<u32>(ww, 28);
      e += t1;
      a = t1 + (rotr<u32>(b, 2) ^ rotr<u32>(b, 13) ^ rotr<u32>(b, 22)) + ((b & c) | (d & (b | c)));
    }
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
    ptr += 64;
  }
  store<u32>(state, h0, 0); store<u32>(state, h1, 4); store<u32>(state, h2, 8); store<u32>(state, h3, 12);
  store<u32>(state, h4, 16); store<u32>(state, h5, 20); store<u32>(state, h6, 24); store<u32>(state, h7, 28);
}

/** Writes the 8-word state at `state` as a 32-byte big-endian digest at `outPtr`. */
export function sha256StateDigest(state: usize, outPtr: usize): void {
  for (let i: usize = 0; i < 32; i += 4) {
    store<u32>(outPtr + i, bswap<u32>(load<u32>(state + i)));
  }
}

/** Resets the context at `ctx` to the initial state. */
export function sha256Init(ctx: usize): void {
  memory.copy(ctx, IV_PTR, 32);
  store<u32>(ctx, 0, BUFFERED);
  store<u64>(ctx, 0, TOTAL);
}

/** Absorbs `len` bytes at `ptr` into the context at `ctx`. */
export function sha256Update(ctx: usize, ptr: usize, len: usize): void {
  let buffered = <usize>load<u32>(ctx, BUFFERED);
  store<u64>(ctx, load<u64>(ctx, TOTAL) + <u64>len, TOTAL);
  if (buffered != 0) {
    const take = min<usize>(64 - buffered, len);
    memory.copy(ctx + BUF + buffered, ptr, take);
    buffered += take;
    ptr += take;
    len -= take;
    if (buffered < 64) {
      store<u32>(ctx, <u32>buffered, BUFFERED);
      return;
    }
    sha256Blocks(ctx, ctx + BUF, 1);
    buffered = 0;
  }
  const nblocks = len >> 6;
  if (nblocks != 0) {
    sha256Blocks(ctx, ptr, <i32>nblocks);
    ptr += nblocks << 6;
    len -= nblocks << 6;
  }
  if (len != 0) memory.copy(ctx + BUF, ptr, len);
  store<u32>(ctx, <u32>len, BUFFERED);
}

/** Pads, finishes and writes the 32-byte digest to `outPtr`; the context must be re-initialised before reuse. */
export function sha256Final(ctx: usize, outPtr: usize): void {
  let buffered = <usize>load<u32>(ctx, BUFFERED);
  const bits = load<u64>(ctx, TOTAL) << 3;
  const buf = ctx + BUF;
  store<u8>(buf + buffered, 0x80);
  buffered++;
  if (buffered > 56) {
    memory.fill(buf + buffered, 0, 64 - buffered);
    sha256Blocks(ctx, buf, 1);
    buffered = 0;
  }
  memory.fill(buf + buffered, 0, 56 - buffered);
  store<u64>(buf, bswap<u64>(bits), 56);
  sha256Blocks(ctx, buf, 1);
  sha256StateDigest(ctx, outPtr);
}

/** One-shot digest of `len` bytes at `ptr`, written to `outPtr`. */
export function sha256Digest(ptr: usize, len: usize, outPtr: usize): void {
  sha256Init(ONESHOT_CTX);
  sha256Update(ONESHOT_CTX, ptr, len);
  sha256Final(ONESHOT_CTX, outPtr);
}

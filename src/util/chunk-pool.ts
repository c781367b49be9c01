// A few reusable 1 MiB buffers for reading files chunk by chunk (commit's hashing, reading and
// streaming of file content). Buffers allocated per file are freed only when V8 next collects,
// which with a small JS heap can be long after: importing a big tree then held tens of MiB of
// dead buffers. Borrowed buffers go back after use; at most MAX_KEPT are kept.

export const CHUNK_SIZE = 1 << 20;
const MAX_KEPT = 24;
const free: Uint8Array[] = [];

/** A CHUNK_SIZE buffer (contents undefined); give it back with returnChunk once nothing reads it. */
export function borrowChunk(): Uint8Array {
  return free.pop() ?? new Uint8Array(CHUNK_SIZE);
}

/** Gives a borrowed buffer back (the caller must not use it afterwards). */
export function returnChunk(buf: Uint8Array): void {
  if (buf.byteLength === CHUNK_SIZE && buf.byteOffset === 0 && buf.buffer.byteLength === CHUNK_SIZE && free.length < MAX_KEPT && !free.includes(buf)) free.push(buf);
}

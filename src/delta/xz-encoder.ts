// The xz encoder delta generation uses by default: the built-in LZMA2 encoder (pure TypeScript,
// deterministic, every runtime). A host with a native liblzma passes its own XzEncoder through
// GenerateDeltaOptions.xz instead; it must be deterministic for reproducible deltas.

import { lzma2XzEncoder, type XzEncoder } from './xz.ts';

/** The default encoder for delta parts. */
export async function defaultXzEncoder(): Promise<XzEncoder> {
  return lzma2XzEncoder;
}

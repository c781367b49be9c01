// Picks the xz encoder for delta generation: liblzma compiled to WASM (the optional package
// node-liblzma, preset 6) when it is installed, else the built-in TypeScript LZMA2 encoder.
// node-liblzma is LGPL-3.0 and optional: it is loaded only here, by a computed specifier, so it is
// never bundled.

import { lzma2XzEncoder, type XzEncoder } from './xz.ts';

interface LiblzmaWasm {
  xzAsync?(data: Uint8Array, opts?: { preset?: number; check?: number }): Promise<Uint8Array>;
  xz?(data: Uint8Array, opts?: { preset?: number }): Promise<Uint8Array> | Uint8Array;
}

let cached: Promise<XzEncoder> | undefined;

/** The best encoder available in this runtime (liblzma WASM, else the built-in LZMA2 encoder). */
export function defaultXzEncoder(): Promise<XzEncoder> {
  cached ??= (async (): Promise<XzEncoder> => {
    const spec = ['node-liblzma', 'wasm'].join('/');
    try {
      const m = (await import(/* @vite-ignore */ spec)) as LiblzmaWasm;
      const fn = m.xzAsync ?? m.xz;
      if (typeof fn !== 'function') return lzma2XzEncoder;
      return {
        name: 'liblzma-6',
        compress: async (data: Uint8Array) => new Uint8Array(await fn.call(m, data, { preset: 6 })),
      };
    } catch {
      return lzma2XzEncoder;
    }
  })();
  return cached;
}

// WASM files that npm dependencies ship beside their JavaScript, located through Node's module
// resolution from this file (works from the sources and from the bundled dist/lib/*.mjs, since
// the dependency is installed beside xylem) and read once: sql.js's SQLite for the rpmdb.

import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import type { WasmSources } from '../../src/host.ts';

let sqlJsBytes: Promise<Uint8Array> | undefined;

/** The runtime's WasmSources: files resolved next to the installed packages. */
export function posixWasmSources(): WasmSources {
  return {
    sqlJs(): Promise<Uint8Array> {
      sqlJsBytes ??= (async () => {
        const path = createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm');
        return new Uint8Array(await readFile(path));
      })();
      sqlJsBytes.catch(() => {
        sqlJsBytes = undefined;
      });
      return sqlJsBytes;
    },
  };
}

// SQLite for the rpmdb: sql.js (SQLite compiled to WASM), loaded lazily on first use with the wasm
// bytes the runtime supplies through Host.wasm.sqlJs (src/ never reads node_modules itself).
// sql.js databases live in memory; callers hand in and take out whole database images.

import type { Database, SqlJsStatic } from 'sql.js';
import type { Host } from '../host.ts';
import { XylemError } from '../util/errors.ts';

let loading: Promise<SqlJsStatic> | undefined;

/** The sql.js module, instantiated once per process. */
export function loadSqlite(host: Host): Promise<SqlJsStatic> {
  if (loading) return loading;
  const source = host?.wasm?.sqlJs;
  if (typeof source !== 'function') {
    return Promise.reject(new XylemError('rpmdb: this host supplies no SQLite (Host.wasm.sqlJs); cannot read or write rpmdb.sqlite', 'ENOSYS'));
  }
  const p = (async () => {
    const mod = (await import('sql.js')) as unknown as { default?: unknown };
    const init = (typeof mod.default === 'function' ? mod.default : mod) as (config: object) => Promise<SqlJsStatic>;
    const wasm = await source.call(host.wasm);
    if (wasm instanceof WebAssembly.Module) {
      return init({
        instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) {
          void WebAssembly.instantiate(wasm, imports).then(done);
          return {};
        },
      });
    }
    if (!(wasm instanceof Uint8Array)) throw new TypeError('Host.wasm.sqlJs must resolve to bytes or a WebAssembly.Module');
    return init({ wasmBinary: wasm });
  })();
  loading = p;
  p.catch(() => {
    if (loading === p) loading = undefined;
  });
  return p;
}

/** SQLite file header bytes 18/19 (write/read format version): 1 rollback journal, 2 WAL. */
const FORMAT_OFFSET = 18;

/** Marks a database image as WAL-mode (what `PRAGMA journal_mode=WAL` persists) or rollback mode. */
export function setJournalFormat(image: Uint8Array, wal: boolean): void {
  if (image.length < 100) throw new XylemError('rpmdb: SQLite image too short', 'ECORRUPT');
  image[FORMAT_OFFSET] = image[FORMAT_OFFSET + 1] = wal ? 2 : 1;
}

/** Runs `f` on a database (from `image`, or empty) and always closes it. */
export async function withDatabase<T>(host: Host, image: Uint8Array | undefined, f: (db: Database) => T): Promise<T> {
  const SQL = await loadSqlite(host);
  const db = image ? new SQL.Database(image) : new SQL.Database();
  try {
    return f(db);
  } finally {
    db.close();
  }
}

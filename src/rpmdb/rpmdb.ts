// rpmdb.sqlite in rpm 4.18's schema (lib/backend/sqlite.c): the Packages table (hnum, installed
// header blob) and one index table per indexed tag, created in rpm's order with rpm's exact SQL so
// `sqlite3 .schema` matches a db rpm wrote; rows inserted in rpm's order (per package: Packages,
// then each index table). The file is written atomically and left as a clean rpm close leaves it:
// WAL journal mode recorded in the header, no -wal/-shm beside it. Also reads a db back (the
// installed packages with their verified headers) and edits one (layering removes and adds
// packages on a base's db, keeping hnums and the AUTOINCREMENT sequence as rpm would).

import type { Database, Statement } from 'sql.js';
import type { FsHost, Host } from '../host.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { CorruptionError, XylemError } from '../util/errors.ts';
import { HeaderBlob } from './header-blob.ts';
import { INDEX_TABLES, indexRows } from './indexes.ts';
import { setJournalFormat, withDatabase } from './sqlite.ts';

/** Largest rpmdb file read back (Fedora's hold ~100 MiB for thousands of packages). */
export const MAX_RPMDB_BYTES = 1024 * 1024 * 1024;
/** Most packages one db may list. */
export const MAX_RPMDB_PACKAGES = 1_000_000;

export interface RpmdbWriteOptions {
  /** Byte order of the machine that will read the db: numeric index keys (Installtid) are host-endian. Default true. */
  littleEndian?: boolean;
  /** 'wal' (default): as rpm's clean close leaves the file; 'delete': rollback journal, as rpm's "parked" close. */
  journalMode?: 'wal' | 'delete';
}

/** One package of an rpmdb: its hnum, installed header blob, and the parsed header. */
export interface InstalledPackage {
  hnum: number;
  blob: Uint8Array;
  header: HeaderBlob;
}

/** Changes `updateRpmdb` makes: packages to drop (by predicate) and installed header blobs to add. */
export interface RpmdbChanges {
  remove?: (pkg: InstalledPackage) => boolean;
  add?: Iterable<Uint8Array>;
}

function schemaStatements(): string[] {
  const out = ["CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)"];
  for (const t of INDEX_TABLES) {
    out.push(
      `CREATE TABLE IF NOT EXISTS '${t.name}' (key '${t.text ? 'TEXT' : 'BLOB'}' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))`,
    );
    if (t.keyIndex) out.push(`CREATE INDEX IF NOT EXISTS '${t.name}_key_idx' ON '${t.name}'(key ASC)`);
    if (t.hnumIndex) out.push(`CREATE INDEX IF NOT EXISTS '${t.name}_hnum_idx' ON '${t.name}'(hnum ASC)`);
  }
  return out;
}

function checkOptions(opts: RpmdbWriteOptions): { littleEndian: boolean; wal: boolean } {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('rpmdb: options must be an object');
  if (opts.journalMode !== undefined && opts.journalMode !== 'wal' && opts.journalMode !== 'delete') throw new TypeError(`rpmdb: journalMode must be 'wal' or 'delete'`);
  return { littleEndian: opts.littleEndian ?? true, wal: (opts.journalMode ?? 'wal') === 'wal' };
}

/** Inserts packages one by one, with prepared statements per table. */
class Inserter {
  private readonly pkg: Statement;
  private readonly idx: Statement[];
  private readonly last: Statement;
  constructor(
    private readonly db: Database,
    private readonly littleEndian: boolean,
  ) {
    this.pkg = db.prepare("INSERT INTO 'Packages' VALUES(?, ?)");
    this.last = db.prepare('SELECT last_insert_rowid()');
    this.idx = INDEX_TABLES.map((t) => db.prepare(t.text ? `INSERT INTO '${t.name}' VALUES(CAST(? AS TEXT), ?, ?)` : `INSERT INTO '${t.name}' VALUES(?, ?, ?)`));
  }

  add(blob: Uint8Array, what: string): number {
    if (!(blob instanceof Uint8Array)) throw new TypeError(`rpmdb: ${what}: an installed header blob (Uint8Array) is required`);
    const header = HeaderBlob.parse(blob, what);
    this.pkg.run([null, blob]);
    this.last.step();
    const hnum = Number(this.last.get()[0]);
    this.last.reset();
    INDEX_TABLES.forEach((t, i) => {
      const st = this.idx[i]!;
      for (const row of indexRows(header, t, this.littleEndian)) st.run([row.key, hnum, row.idx]);
    });
    return hnum;
  }

  free(): void {
    this.pkg.free();
    this.last.free();
    for (const s of this.idx) s.free();
  }
}

function addAll(db: Database, blobs: Iterable<Uint8Array>, littleEndian: boolean, existing: number): number {
  const ins = new Inserter(db, littleEndian);
  let n = 0;
  try {
    for (const blob of blobs) {
      if (existing + n >= MAX_RPMDB_PACKAGES) throw new XylemError(`rpmdb: more than ${MAX_RPMDB_PACKAGES} packages`, 'ELIMIT');
      ins.add(blob, `installed header #${n + 1}`);
      n++;
    }
  } finally {
    ins.free();
  }
  return n;
}

/**
 * The image of `db`. First the statistics rpm's close leaves: its `PRAGMA optimize` analyses the
 * tables an install queried (Name for the replaced instance, Basenames for file conflicts).
 */
function finish(db: Database, wal: boolean): Uint8Array {
  db.run("ANALYZE 'Name'");
  db.run("ANALYZE 'Basenames'");
  const image = db.export();
  setJournalFormat(image, wal);
  return image;
}

function buildImage(host: Host, blobs: Iterable<Uint8Array>, opts: RpmdbWriteOptions): Promise<{ image: Uint8Array; count: number }> {
  const { littleEndian, wal } = checkOptions(opts);
  if (blobs === null || typeof (blobs as Iterable<Uint8Array>)?.[Symbol.iterator] !== 'function') throw new TypeError('rpmdb: an iterable of header blobs is required');
  return withDatabase(host, undefined, (db) => {
    // A fresh in-memory image: nothing to roll back to, so no journal (not recorded in the file),
    // from the first statement on (each schema statement would otherwise create and delete one).
    db.run('PRAGMA journal_mode = OFF');
    for (const sql of schemaStatements()) db.run(sql);
    db.run('PRAGMA cache_size = -65536');
    db.run('BEGIN');
    const count = addAll(db, blobs, littleEndian, 0);
    db.run('COMMIT');
    return { image: finish(db, wal), count };
  });
}

/** The bytes of a new rpmdb.sqlite holding `blobs` (installed header blobs), hnums 1, 2, … in order. */
export async function buildRpmdbImage(host: Host, blobs: Iterable<Uint8Array>, opts: RpmdbWriteOptions = {}): Promise<Uint8Array> {
  return (await buildImage(host, blobs, opts)).image;
}

async function removeSidecars(fs: FsHost, file: string): Promise<void> {
  for (const suffix of ['-wal', '-shm', '-journal']) {
    if (await fs.lstat(file + suffix)) await fs.unlink(file + suffix);
  }
}

/**
 * Writes `image` to `file` atomically. Stale `-wal`/`-shm`/`-journal` files beside it are removed
 * first: SQLite would otherwise replay an old WAL onto the new database.
 */
export async function writeRpmdbImage(host: Host, file: string, image: Uint8Array): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new TypeError('writeRpmdbImage: a file path is required');
  await removeSidecars(host.fs, file);
  await writeFileAtomic(host.fs, file, image, { mode: 0o644 });
}

/** Writes a new rpmdb.sqlite at `file` holding `blobs`; returns how many packages it holds. */
export async function writeRpmdb(host: Host, file: string, blobs: Iterable<Uint8Array>, opts: RpmdbWriteOptions = {}): Promise<number> {
  if (typeof file !== 'string' || file === '') throw new TypeError('writeRpmdb: a file path is required');
  const { image, count } = await buildImage(host, blobs, opts);
  await writeRpmdbImage(host, file, image);
  return count;
}

/** Reads the image of rpmdb.sqlite at `file`, refusing one whose WAL still holds transactions. */
async function readImage(fs: FsHost, file: string): Promise<Uint8Array> {
  const st = await fs.lstat(file);
  if (!st) throw new XylemError(`${file}: no rpmdb here`, 'ENOENT');
  if (st.kind !== 'file') throw new CorruptionError(`${file}: rpmdb is not a regular file`);
  if (st.size > MAX_RPMDB_BYTES) throw new XylemError(`${file}: rpmdb of ${st.size} bytes is larger than ${MAX_RPMDB_BYTES}`, 'ELIMIT');
  const wal = await fs.lstat(file + '-wal');
  if (wal && wal.size > 0) throw new XylemError(`${file}: its write-ahead log (-wal) holds uncheckpointed changes; checkpoint it first (rpm --rebuilddb or sqlite3 'PRAGMA wal_checkpoint')`, 'EWALPENDING');
  const image = await fs.readFile(file);
  if (image.length > MAX_RPMDB_BYTES) throw new XylemError(`${file}: rpmdb larger than ${MAX_RPMDB_BYTES} bytes`, 'ELIMIT');
  return image;
}

function openCopy(image: Uint8Array, what: string): Uint8Array {
  const SQLITE_MAGIC = 'SQLite format 3\0';
  if (image.length < 100 || String.fromCharCode(...image.subarray(0, 16)) !== SQLITE_MAGIC) throw new CorruptionError(`${what}: not an SQLite database`);
  const copy = image.slice();
  // sql.js has no shared memory for a WAL index; the image holds everything, so read it in rollback mode.
  setJournalFormat(copy, false);
  return copy;
}

function listPackages(db: Database, what: string): InstalledPackage[] {
  let st: Statement;
  try {
    const cols = db.exec("SELECT name FROM pragma_table_info('Packages')");
    const names = new Set((cols[0]?.values ?? []).map((r) => String(r[0])));
    if (!names.has('hnum') || !names.has('blob')) throw new CorruptionError(`${what}: no Packages(hnum, blob) table; not an rpm sqlite database`);
    st = db.prepare("SELECT hnum, blob FROM 'Packages' ORDER BY hnum");
  } catch (e) {
    if (e instanceof XylemError) throw e;
    throw new CorruptionError(`${what}: unreadable SQLite database: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out: InstalledPackage[] = [];
  try {
    while (st.step()) {
      const [hnum, blob] = st.get();
      if (typeof hnum !== 'number' || !Number.isInteger(hnum) || hnum < 1 || hnum > 0xffffffff) throw new CorruptionError(`${what}: bad hnum ${String(hnum)}`);
      if (!(blob instanceof Uint8Array)) throw new CorruptionError(`${what}: package ${hnum}: blob is not a BLOB`);
      if (out.length >= MAX_RPMDB_PACKAGES) throw new XylemError(`${what}: more than ${MAX_RPMDB_PACKAGES} packages`, 'ELIMIT');
      out.push({ hnum, blob, header: HeaderBlob.parse(blob, `${what}: package ${hnum}`) });
    }
  } finally {
    st.free();
  }
  return out;
}

/** The packages of an rpmdb image, in hnum order, each header verified. */
export async function readRpmdbImage(host: Host, image: Uint8Array, what: string = 'rpmdb'): Promise<InstalledPackage[]> {
  if (!(image instanceof Uint8Array)) throw new TypeError('readRpmdbImage: image must be a Uint8Array');
  return withDatabase(host, openCopy(image, what), (db) => listPackages(db, what));
}

/** The packages of the rpmdb.sqlite at `file`, in hnum order, each header verified. */
export async function readRpmdb(host: Host, file: string): Promise<InstalledPackage[]> {
  if (typeof file !== 'string' || file === '') throw new TypeError('readRpmdb: a file path is required');
  return readRpmdbImage(host, await readImage(host.fs, file), file);
}

/**
 * Copies the rpmdb at `from` to `to` with `changes` applied: removed packages leave the Packages
 * table and every index; added blobs get new hnums after the highest ever used (AUTOINCREMENT).
 * Returns the packages of the result.
 */
export async function updateRpmdb(host: Host, from: string, to: string, changes: RpmdbChanges, opts: RpmdbWriteOptions = {}): Promise<InstalledPackage[]> {
  if (typeof from !== 'string' || from === '' || typeof to !== 'string' || to === '') throw new TypeError('updateRpmdb: source and destination paths are required');
  if (typeof changes !== 'object' || changes === null) throw new TypeError('updateRpmdb: changes must be an object');
  const { littleEndian, wal } = checkOptions(opts);
  const image = openCopy(await readImage(host.fs, from), from);
  const result = await withDatabase(host, image, (db) => {
    const before = listPackages(db, from);
    const drop = changes.remove ? before.filter((p) => changes.remove!(p)) : [];
    db.run('BEGIN');
    for (const p of drop) {
      for (const t of INDEX_TABLES) db.run(`DELETE FROM '${t.name}' WHERE hnum=?`, [p.hnum]);
      db.run("DELETE FROM 'Packages' WHERE hnum=?", [p.hnum]);
    }
    addAll(db, changes.add ?? [], littleEndian, before.length - drop.length);
    db.run('COMMIT');
    return { image: finish(db, wal), packages: listPackages(db, to) };
  });
  await writeRpmdbImage(host, to, result.image);
  return result.packages;
}

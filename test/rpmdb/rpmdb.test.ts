// rpmdb.sqlite written by xylem against one rpm 4.18 wrote for the same packages with
// `rpm --root R --dbpath /usr/share/rpm -i --justdb --nodeps --noscripts`: same schema, same rows
// in every table, and Debian's rpm answers every query (-qa, -qi, -ql, --provides, --requires,
// --what*, -qf, -V --nofiles, --triggers) the same on both; `rpmdb --verifydb` and
// `rpm --rebuilddb` accept it. Reading back, editing (layering's remove/add, against rpm -e/-i
// --justdb on a copy of rpm's db), and hostile dbs refused.

import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_RPMBUILD, HAVE_RPMSIGN, hasCommand, rpmJustdbInstall } from '../helpers/rpmbuild.ts';
import { HeaderBlob } from '../../src/rpmdb/header-blob.ts';
import { INDEX_TABLES } from '../../src/rpmdb/indexes.ts';
import { installedHeader } from '../../src/rpmdb/installed-header.ts';
import { writeTreeRpmdb } from '../../src/rpmdb/layout.ts';
import { readRpmHeadersFromBytes } from '../../src/rpmdb/rpm-file.ts';
import { readRpmdb, updateRpmdb, writeRpmdb } from '../../src/rpmdb/rpmdb.ts';
import { buildFixtureSet, readBytes, rpmBlob, rpmQuery, sqlite } from './fixtures.ts';
import type { FixtureSet } from './fixtures.ts';

const TOOLS = { rpmbuild: HAVE_RPMBUILD, rpmsign: HAVE_RPMSIGN, sqlite3: hasCommand('sqlite3'), rpmdb: hasCommand('rpmdb') };
const host = createNodeHost();
const TABLES = ['Packages', ...INDEX_TABLES.map((t) => t.name)];

/** Every row of `table`, rowid first, keys quoted so blobs and text compare exactly. */
function rows(db: string, table: string): string {
  const cols = table === 'Packages' ? 'rowid, hnum, hex(blob)' : 'rowid, typeof(key), hex(key), hnum, idx';
  return sqlite(db, `SELECT ${cols} FROM '${table}' ORDER BY rowid`);
}

/** The installed blobs xylem makes for `names`, with rpm's install time and tid for each. */
async function blobsLike(fx: FixtureSet, rpmDb: string, names: string[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const n of names) {
    const theirs = HeaderBlob.parse(rpmBlob(rpmDb, n), n);
    const pkg = await readRpmHeadersFromBytes(readBytes(fx.rpms.get(n)!), n);
    out.push(installedHeader(pkg, { installTime: theirs.uint32(1008)!, tid: theirs.uint32(1128)! }));
  }
  return out;
}

describe.skipIf(missing('rpmdb against rpm 4.18', TOOLS))('rpmdb.sqlite (oracle: rpm 4.18)', () => {
  let fx: FixtureSet;
  let rpmDir: string;
  let rpmDb: string;
  let ourRoot: string;
  let ourDir: string;
  let ourDb: string;
  let sidecarsAfterWrite: string[];
  let formatBytes: number[];

  beforeAll(async () => {
    fx = buildFixtureSet();
    rpmDir = join(fx.rpmRoot, 'usr/share/rpm');
    rpmDb = join(rpmDir, 'rpmdb.sqlite');
    ourRoot = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-ours-'));
    ourDb = await writeTreeRpmdb(host, ourRoot, { blobs: await blobsLike(fx, rpmDb, fx.order) });
    ourDir = join(ourRoot, 'usr/share/rpm');
    sidecarsAfterWrite = ['-wal', '-shm', '-journal'].filter((s) => existsSync(ourDb + s));
    formatBytes = [...readFileSync(ourDb).subarray(18, 20)];
  }, 120_000);

  it('is left as a clean rpm close leaves it: WAL mode in the header, no -wal/-shm/-journal files', () => {
    expect(sidecarsAfterWrite).toEqual([]);
    expect(formatBytes).toEqual([2, 2]);
    expect(sqlite(ourDb, 'PRAGMA journal_mode').trim()).toBe(sqlite(rpmDb, 'PRAGMA journal_mode').trim());
  });

  it('has the schema rpm creates (sqlite_master identical, same pragmas)', () => {
    // Every root page matches too, except where the statistics table (made at close) lands.
    const q = "SELECT type, name, tbl_name, CASE name WHEN 'sqlite_stat1' THEN 0 ELSE rootpage END, sql FROM sqlite_master ORDER BY rowid";
    expect(sqlite(ourDb, q)).toBe(sqlite(rpmDb, q));
    expect(sqlite(ourDb, 'SELECT * FROM sqlite_stat1 ORDER BY idx')).toBe(sqlite(rpmDb, 'SELECT * FROM sqlite_stat1 ORDER BY idx'));
    for (const p of ['user_version', 'page_size', 'encoding', 'auto_vacuum', 'application_id']) expect(sqlite(ourDb, `PRAGMA ${p}`), p).toBe(sqlite(rpmDb, `PRAGMA ${p}`));
  });

  it('holds the same rows as rpm in Packages and every index table, in the same order', () => {
    for (const t of TABLES) expect(rows(ourDb, t), t).toBe(rows(rpmDb, t));
    expect(sqlite(ourDb, 'SELECT * FROM sqlite_sequence')).toBe(sqlite(rpmDb, 'SELECT * FROM sqlite_sequence'));
    expect(sqlite(ourDb, 'SELECT count(*) FROM Requirename').trim()).not.toBe('0');
  });

  it('rpm answers queries the same on both dbs', () => {
    const queries: string[][] = [['-qa'], ['-qa', '--qf', '%{NEVRA} %{SIGMD5} %{SHA1HEADER} %{INSTALLTIME} %{INSTALLCOLOR} %{SIZE}\\n']];
    for (const n of fx.order) {
      queries.push(['-qi', n], ['-ql', n], ['-q', '--provides', n], ['-q', '--requires', n], ['-q', '--recommends', '--suggests', '--supplements', '--enhances', n]);
      queries.push(['-q', '--conflicts', '--obsoletes', n], ['-q', '--scripts', n], ['-q', '--triggers', n], ['-q', '--filetriggers', n], ['-q', '--dump', n], ['-q', '--fileclass', n]);
      queries.push(['-q', '--qf', '[%{FILESTATES:fstate} %{FILENAMES}\\n]', n], ['-q', '--qf', '%{INSTPREFIXES} %{SOURCERPM} %{RSAHEADER:pgpsig}\\n', n]);
    }
    queries.push(['-q', '--whatprovides', 'libbeta.so'], ['-q', '--whatprovides', 'alpha-virtual'], ['-q', '--whatprovides', '/usr/bin/gamma']);
    queries.push(['-q', '--whatrequires', 'beta'], ['-q', '--whatrequires', 'gamma'], ['-q', '--whatrequires', '/bin/sh'], ['-q', '--whatrequires', 'alpha']);
    queries.push(['-q', '--whatrecommends', 'gamma'], ['-q', '--whatsuggests', 'epsilon'], ['-q', '--whatsupplements', 'delta'], ['-q', '--whatenhances', 'gamma']);
    queries.push(['-q', '--whatconflicts', 'omega'], ['-q', '--whatconflicts', 'zeta'], ['-q', '--whatobsoletes', 'oldalpha']);
    queries.push(['-qf', '/usr/bin/alpha'], ['-qf', '/usr/lib/libbeta.so'], ['-qf', '/usr/share/alpha'], ['-qf', '/var/log/alpha.log'], ['-qf', '/opt/reloc/bin/tool']);
    queries.push(['-q', '--triggeredby', 'beta'], ['-q', '--triggeredby', 'gamma'], ['-q', '--whatrequires', 'config(alpha)']);
    let answered = 0;
    for (const q of queries) {
      const theirs = rpmQuery(rpmDir, q);
      const mine = rpmQuery(ourDir, q);
      expect(mine, q.join(' ')).toEqual(theirs);
      if (theirs.status === 0 && theirs.out.trim() !== '') answered++;
    }
    expect(answered).toBeGreaterThan(60);
    expect(rpmQuery(ourDir, ['-qa']).out.trim().split('\n').sort()).toEqual(['alpha-1.2-3.noarch', 'beta-1.0-1.x86_64', 'gamma-2.0~rc1-0.1.noarch', 'meta-7-1.fc41.noarch', 'reloc-0.9-1.noarch']);
    expect(rpmQuery(ourDir, ['-q', '--whatrequires', 'gamma']).out).toContain('alpha');
  });

  it('rpm -V --nofiles (header digests and signatures) gives the same verdicts', () => {
    for (const n of fx.order) {
      const theirs = rpmQuery(rpmDir, ['-V', '--nofiles', '--nodeps', n]);
      expect(rpmQuery(ourDir, ['-V', '--nofiles', '--nodeps', n]), n).toEqual(theirs);
      expect(theirs.status, n).toBe(0);
    }
  });

  it('rpmdb --verifydb and rpm --rebuilddb accept it', () => {
    const copy = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-rebuild-'));
    cpSync(ourDb, join(copy, 'rpmdb.sqlite'));
    expect(() => execFileSync('rpmdb', ['--verifydb', '--dbpath', copy], { stdio: 'pipe' })).not.toThrow();
    expect(() => execFileSync('rpm', ['--rebuilddb', '--dbpath', copy], { stdio: 'pipe' })).not.toThrow();
    expect(rpmQuery(copy, ['-qa']).out.split('\n').sort()).toEqual(rpmQuery(rpmDir, ['-qa']).out.split('\n').sort());
  });

  it('reads both dbs back: packages in hnum order with their blobs', async () => {
    const ours = await readRpmdb(host, ourDb);
    expect(ours.map((p) => p.header.string(1000))).toEqual(fx.order);
    const cp = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-read-'));
    cpSync(rpmDb, join(cp, 'rpmdb.sqlite'));
    execFileSync('sqlite3', [join(cp, 'rpmdb.sqlite'), 'PRAGMA wal_checkpoint(TRUNCATE)'], { stdio: 'ignore' });
    const theirs = await readRpmdb(host, join(cp, 'rpmdb.sqlite'));
    expect(theirs.map((p) => [p.hnum, Buffer.from(p.blob).toString('hex')])).toEqual(ours.map((p) => [p.hnum, Buffer.from(p.blob).toString('hex')]));
  });

  it('layering edits: removing and adding packages matches rpm -e / -i --justdb on a copy of rpm\'s db', async () => {
    const root = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-layer-'));
    mkdirSync(join(root, 'usr/share'), { recursive: true });
    cpSync(rpmDir, join(root, 'usr/share/rpm'), { recursive: true });
    execFileSync('rpm', ['--root', root, '--dbpath', '/usr/share/rpm', '-e', '--justdb', '--nodeps', '--noscripts', 'meta', 'gamma'], { stdio: 'pipe' });
    rpmJustdbInstall(root, [fx.rpms.get('gamma')!]);
    const theirDb = join(root, 'usr/share/rpm/rpmdb.sqlite');
    const out = join(mkdtempSync(join(tmpdir(), 'xylem-rpmdb-layer-ours-')), 'rpmdb.sqlite');
    const [gammaAgain] = await blobsLike(fx, theirDb, ['gamma']);
    const result = await updateRpmdb(host, ourDb, out, { remove: (p) => ['meta', 'gamma'].includes(p.header.string(1000)!), add: [gammaAgain!] });
    expect(result.map((p) => p.header.string(1000))).toEqual(fx.order.filter((n) => n !== 'meta' && n !== 'gamma').concat('gamma'));
    for (const t of TABLES) expect(rows(out, t), t).toBe(rows(theirDb, t));
    expect(sqlite(out, 'SELECT * FROM sqlite_sequence')).toBe(sqlite(theirDb, 'SELECT * FROM sqlite_sequence'));
  });

  it('refuses hostile dbs: a blob with lying sizes, a non-database, a pending WAL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-hostile-'));
    const lying = join(dir, 'lying.sqlite');
    await writeRpmdb(host, lying, await blobsLike(fx, rpmDb, ['beta']));
    // il says 2 entries more than the blob holds.
    execFileSync('sqlite3', [lying, "UPDATE Packages SET blob = CAST(X'00000050' || substr(blob, 5) AS BLOB) WHERE hnum = 1"], { stdio: 'ignore' });
    await expect(readRpmdb(host, lying)).rejects.toThrow(/package 1: bad rpm header: sizes say/);
    const trunc = join(dir, 'trunc.sqlite');
    await writeRpmdb(host, trunc, await blobsLike(fx, rpmDb, ['alpha']));
    execFileSync('sqlite3', [trunc, 'UPDATE Packages SET blob = substr(blob, 1, length(blob) - 1) WHERE hnum = 1'], { stdio: 'ignore' });
    await expect(readRpmdb(host, trunc)).rejects.toThrow(/bad rpm header/);
    writeFileSync(join(dir, 'junk.sqlite'), new Uint8Array(4096).fill(7));
    await expect(readRpmdb(host, join(dir, 'junk.sqlite'))).rejects.toThrow(/not an SQLite database/);
    execFileSync('sqlite3', [trunc, "UPDATE Packages SET blob = 'text' WHERE hnum = 1"], { stdio: 'ignore' });
    await expect(readRpmdb(host, trunc)).rejects.toThrow(/blob is not a BLOB/);
    const pending = join(dir, 'pending.sqlite');
    await writeRpmdb(host, pending, []);
    writeFileSync(pending + '-wal', new Uint8Array(32));
    await expect(readRpmdb(host, pending)).rejects.toMatchObject({ code: 'EWALPENDING' });
  });
});

// A second oracle, libsolv's own readers (the ones dnf uses underneath): primary.xml through
// `rpmmd2solv | dumpsolv` (evr, checksum, summary, description, buildtime, sizes, license, group,
// buildhost, header end, the primary file list, every simple dependency with its sense, and the
// pre-requires after libsolv's prereq marker), and updateinfo.xml through
// `updateinfoxml2solv | dumpsolv` (id, version, from, type, status, title, severity, rights,
// description, references, packages with their filenames, reboot flag, module, date).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, hasCommand } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { DepFlag, type Dependency } from '../../src/rpm/types.ts';
import { advisoryTime, streamPrimary, streamUpdateinfo, type Advisory, type RpmmdPackage } from '../../src/rpmmd/index.ts';
import { buildFixtureRepo, UPDATEINFO_XML } from './fixtures.ts';

const TOOLS = { rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO, rpmmd2solv: hasCommand('rpmmd2solv'), updateinfoxml2solv: hasCommand('updateinfoxml2solv'), dumpsolv: hasCommand('dumpsolv') };

type Solvable = Map<string, string[]>;

/** dumpsolv's text: one map per solvable, key → values (list items, or the lines of a string). */
function parseDumpsolv(out: string): Solvable[] {
  const blocks = out.split(/\nsolvable \d+ \(\d+\):\n/).slice(1);
  return blocks.map((b) => {
    const m: Solvable = new Map();
    let key = '';
    for (const line of b.split('\n')) {
      const kv = /^([a-z]+:[a-z_:]+):(?: (.*))?$/.exec(line);
      if (kv) {
        key = kv[1]!;
        m.set(key, kv[2] !== undefined && kv[2] !== '' ? [kv[2]] : []);
      } else if (line.startsWith('  ')) m.get(key)?.push(line.trim());
      else if (line !== '' && key) {
        const v = m.get(key)!;
        v[v.length - 1] += `\n${line}`;
      }
    }
    return m;
  });
}

const one = (s: Solvable, k: string): string | undefined => s.get(k)?.[0];
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
async function* source(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

/** libsolv's dependency text: `name`, or `name OP evr` with << and >> for strict senses. */
function solvDep(d: Dependency): string {
  const sense = d.flags & DepFlag.SENSEMASK;
  if (sense === 0) return d.name;
  const op = { 2: '<<', 4: '>>', 8: '=', 10: '<=', 12: '>=' }[sense];
  return `${d.name} ${op} ${d.version}`;
}

describe.skipIf(missing('rpm-md reading vs libsolv', TOOLS))('rpm-md metadata vs libsolv (rpmmd2solv, updateinfoxml2solv)', () => {
  let tmp: string;
  let primaryXml: Buffer;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'xylem-rpmmd-solv-'));
    const repo = buildFixtureRepo(join(tmp, 'repo'));
    const repomd = readFileSync(join(repo, 'repodata', 'repomd.xml'), 'utf8');
    const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1]!;
    primaryXml = execFileSync('gzip', ['-dc', join(repo, href)]);
  }, 120_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads every package field libsolv keeps from primary.xml', async () => {
    const solv = parseDumpsolv(execFileSync('sh', ['-c', 'rpmmd2solv | dumpsolv'], { input: primaryXml, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] }));
    const ours: RpmmdPackage[] = [];
    await streamPrimary(source(primaryXml), (p) => void ours.push(p), { fileName: 'primary.xml' });
    expect(ours).toHaveLength(solv.length);
    let deps = 0;
    for (let i = 0; i < ours.length; i++) {
      const p = ours[i]!;
      const s = solv[i]!;
      const evr = `${p.epoch ? `${p.epoch}:` : ''}${p.version}-${p.release}`;
      expect([one(s, 'solvable:name'), one(s, 'solvable:arch'), one(s, 'solvable:evr')]).toEqual([p.name, p.arch, evr]);
      expect(one(s, 'solvable:checksum')).toBe(`${p.checksum.value} (${p.checksum.type})`);
      expect(one(s, 'solvable:summary')).toBe(p.summary);
      expect(one(s, 'solvable:description')).toBe(p.description);
      expect(Number(one(s, 'solvable:buildtime'))).toBe(p.time.build);
      expect(Number(one(s, 'solvable:installsize'))).toBe(p.size.installed);
      expect(Number(one(s, 'solvable:downloadsize'))).toBe(p.size.package);
      expect([one(s, 'solvable:license'), one(s, 'solvable:group'), one(s, 'solvable:buildhost')]).toEqual([p.license, p.group, p.buildhost]);
      expect(Number(one(s, 'solvable:headerend'))).toBe(p.headerRange!.end);
      expect((s.get('solvable:filelist') ?? []).sort()).toEqual(p.files.map((f) => f.path).sort());
      for (const kind of ['provides', 'conflicts', 'obsoletes', 'recommends', 'enhances'] as const) {
        // libsolv prints rich dependencies in its own syntax; compare the simple ones.
        // (File provides libsolv adds for file requires come after its file marker.)
        const all = s.get(`solvable:${kind}`) ?? [];
        const fm = all.indexOf('solvable:filemarker');
        const theirs = (fm < 0 ? all : all.slice(0, fm)).filter((d) => !/ (\||&|IF|UNLESS|WITH|WITHOUT) /.test(d)).sort();
        const mine = p[kind].filter((d) => !d.name.startsWith('(')).map(solvDep).sort();
        expect(mine, `${p.name} ${kind}`).toEqual(theirs);
        deps += mine.length;
      }
      const req = s.get('solvable:requires') ?? [];
      const marker = req.indexOf('solvable:prereqmarker');
      const plain = (marker < 0 ? req : req.slice(0, marker)).filter((d) => !/ (\||&|IF) /.test(d)).sort();
      const pre = marker < 0 ? [] : req.slice(marker + 1).sort();
      expect(p.requires.filter((d) => !(d.flags & DepFlag.PREREQ) && !d.name.startsWith('(')).map(solvDep).sort(), `${p.name} requires`).toEqual(plain);
      expect(p.requires.filter((d) => d.flags & DepFlag.PREREQ).map(solvDep).sort(), `${p.name} pre-requires`).toEqual(pre);
    }
    expect(deps).toBeGreaterThan(10);
  });

  it('reads every advisory field libsolv keeps from updateinfo.xml', async () => {
    const solv = parseDumpsolv(execFileSync('sh', ['-c', 'updateinfoxml2solv | dumpsolv'], { input: UPDATEINFO_XML, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] }));
    const ours: Advisory[] = [];
    await streamUpdateinfo(source(enc(UPDATEINFO_XML)), (a) => void ours.push(a), { fileName: 'updateinfo.xml' });
    expect(ours).toHaveLength(solv.length);
    expect(ours.length).toBe(2);
    for (let i = 0; i < ours.length; i++) {
      const a = ours[i]!;
      const s = solv[i]!;
      expect(one(s, 'solvable:name')).toBe(`patch:${a.id}`);
      expect(one(s, 'solvable:evr')).toBe(a.version);
      expect(one(s, 'solvable:vendor')).toBe(a.from);
      expect(one(s, 'solvable:patchcategory')).toBe(a.type);
      expect(one(s, 'update:status')).toBe(a.status);
      expect(one(s, 'solvable:summary')).toBe(a.title);
      expect(one(s, 'update:severity')).toBe(a.severity);
      expect(one(s, 'update:rights')).toBe(a.rights || undefined);
      expect(one(s, 'solvable:description')).toBe(a.description);
      expect(Number(one(s, 'solvable:buildtime'))).toBe(advisoryTime(a));
      expect(s.has('update:reboot')).toBe(a.rebootSuggested);
      const refs = s.get('update:reference') ?? [];
      expect(refs.filter((r) => r.startsWith('update:reference:href:')).map((r) => r.slice('update:reference:href: '.length))).toEqual(a.references.map((r) => r.href));
      expect(refs.filter((r) => r.startsWith('update:reference:type:')).map((r) => r.slice('update:reference:type: '.length))).toEqual(a.references.map((r) => r.type));
      const coll = s.get('update:collection') ?? [];
      const pk = a.collections.flatMap((c) => c.packages);
      expect(coll.filter((r) => r.startsWith('update:collection:name:')).map((r) => r.split(': ')[1])).toEqual(pk.map((p) => p.name));
      expect(coll.filter((r) => r.startsWith('update:collection:evr:')).map((r) => r.split(': ')[1])).toEqual(pk.map((p) => `${p.epoch ? `${p.epoch}:` : ''}${p.version}-${p.release}`));
      expect(coll.filter((r) => r.startsWith('update:collection:filename:')).map((r) => r.split(': ')[1])).toEqual(pk.map((p) => p.filename));
      const mod = s.get('update:module');
      const m = a.collections.find((c) => c.module)?.module;
      if (mod) expect(mod).toEqual([`update:module:name: ${m!.name}`, `update:module:stream: ${m!.stream}`, `update:module:version: ${m!.version}`, `update:module:context: ${m!.context}`, `update:module:arch: ${m!.arch}`]);
      else expect(m).toBeUndefined();
    }
  });
});

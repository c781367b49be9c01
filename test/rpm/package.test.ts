// The RPM reader's typed views against the oracle: every field parseRpm/openRpm expose (identity,
// descriptive tags, the eight dependency lists, every file attribute, scripts, triggers, file
// triggers, changelog) compared with what `rpm -qp --qf` prints for packages built by rpmbuild, and
// the header's byte range compared with createrepo_c's rpm:header-range.

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, mkdtempSync, copyFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openRpm, parseRpm, type RpmPackage } from '../../src/rpm/index.ts';
import { buildRpm, buildSrpm, HAVE_CREATEREPO, HAVE_RPMBUILD } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { built, everythingPackage } from './fixtures.ts';

function qf(path: string, fmt: string): string {
  return execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', fmt, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}
/** Values of a --qf format split on a separator line. */
function qfFields(path: string, tags: string[]): string[] {
  return qf(path, tags.map((t) => `%{${t}}`).join('\\n@@@\\n')).split('\n@@@\n');
}
const none = (v: string | number | null | undefined): string => (v === null || v === undefined || v === '' ? '(none)' : String(v));

describe.skipIf(missing('rpm package views', { rpmbuild: HAVE_RPMBUILD }))('package views match rpm -qp', () => {
  const cases: [string, string][] = [
    ['x86_64, zstd', 'w19.zstdio'],
    ['x86_64, gzip', 'w9.gzdio'],
  ];
  for (const [label, payload] of cases) {
    describe(label, () => {
      const path = built(everythingPackage(payload));
      const pkg = parseRpm(new Uint8Array(readFileSync(path)), basename(path));

      it('identity and descriptive fields', () => {
        const tags = ['NAME', 'EPOCH', 'VERSION', 'RELEASE', 'ARCH', 'SUMMARY', 'DESCRIPTION', 'LICENSE', 'URL', 'GROUP', 'VENDOR', 'PACKAGER', 'BUILDHOST', 'BUILDTIME', 'SIZE', 'SOURCERPM', 'OS', 'RPMVERSION', 'PAYLOADFORMAT', 'PAYLOADCOMPRESSOR', 'PAYLOADFLAGS', 'COOKIE'];
        const want = qfFields(path, tags);
        const i = pkg.info();
        const got = [i.name, i.epoch, i.version, i.release, i.arch, i.summary, i.description, i.license, i.url, i.group, i.vendor, i.packager, i.buildhost, i.buildtime, i.size, i.sourcerpm, i.os, i.rpmversion, i.payloadFormat, i.payloadCompressor, i.payloadFlags, i.cookie].map(none);
        expect(got).toEqual(want);
        expect(pkg.nevra).toEqual({ name: 'everything', epoch: 3, version: '2.0~rc1', release: '7.xy', arch: 'x86_64' });
      });

      it('the eight dependency lists, rich dependencies whole', () => {
        const deps = pkg.dependencies();
        const kinds: [keyof typeof deps, string][] = [
          ['provides', 'PROVIDE'], ['requires', 'REQUIRE'], ['conflicts', 'CONFLICT'], ['obsoletes', 'OBSOLETE'],
          ['recommends', 'RECOMMEND'], ['suggests', 'SUGGEST'], ['supplements', 'SUPPLEMENT'], ['enhances', 'ENHANCE'],
        ];
        for (const [k, tag] of kinds) {
          const want = qf(path, `[%{${tag}NAME}\\t%{${tag}FLAGS}\\t%{${tag}VERSION}\\n]`);
          const got = deps[k].map((d) => `${d.name}\t${d.flags}\t${d.version}\n`).join('');
          expect(got, k).toBe(want);
          expect(deps[k].length, k).toBeGreaterThan(0);
        }
        expect(deps.requires.some((d) => d.name === '(foo if bar else baz)' && d.flags === 0 && d.version === '')).toBe(true);
      });

      it('every file attribute', () => {
        const cols = ['FILENAMES', 'FILEMODES', 'FILESIZES', 'FILEUSERNAME', 'FILEGROUPNAME', 'FILEMTIMES', 'FILEDIGESTS', 'FILELINKTOS', 'FILEFLAGS', 'FILEVERIFYFLAGS', 'FILECAPS', 'FILEINODES', 'FILEDEVICES', 'FILELANGS', 'FILERDEVS', 'FILECOLORS'];
        const want = qf(path, '[' + cols.map((c) => `%{${c}}`).join('\\t') + '\\n]');
        const got = pkg
          .files()
          .map((f) => [f.path, f.mode, f.size, f.user, f.group, f.mtime, f.digest, f.linkto, f.flags, f.verifyFlags, f.caps, f.inode, f.device, f.lang, f.rdev, f.color].join('\t') + '\n')
          .join('');
        expect(got).toBe(want);
        const byPath = new Map(pkg.files().map((f) => [f.path, f]));
        expect(byPath.get('/etc/everything.conf')).toMatchObject({ config: true, noreplace: true, ghost: false });
        expect(byPath.get('/etc/everything-plain.conf')).toMatchObject({ config: true, noreplace: false });
        expect(byPath.get('/var/log/everything.log')).toMatchObject({ ghost: true });
        expect(byPath.get('/usr/share/doc/everything/README')).toMatchObject({ doc: true });
        expect(byPath.get('/usr/share/licenses/everything/COPYING')).toMatchObject({ license: true });
        expect(byPath.get('/usr/share/everything/missing-ok')).toMatchObject({ missingok: true, config: true });
        expect(byPath.get('/usr/bin/ping-ish')!.caps).toBe('cap_net_raw=ep');
        expect(byPath.get('/usr/bin/everything-suid')!.mode & 0o7777).toBe(0o4755);
        // digest algorithm
        expect(qf(path, '%{FILEDIGESTALGO}')).toBe('8');
      });

      it('scriptlets with interpreters and flags', () => {
        const kinds: [string, string][] = [['pre', 'PREIN'], ['post', 'POSTIN'], ['preun', 'PREUN'], ['postun', 'POSTUN'], ['pretrans', 'PRETRANS'], ['posttrans', 'POSTTRANS'], ['verify', 'VERIFYSCRIPT']];
        const scripts = new Map(pkg.scripts().map((s) => [s.kind, s]));
        for (const [kind, tag] of kinds) {
          const [body, prog, flags] = qfFields(path, [tag, `${tag}PROG`, `${tag}FLAGS`]);
          const s = scripts.get(kind as never);
          expect(s, kind).toBeDefined();
          expect(s!.body, kind).toBe(body);
          expect(s!.prog.join(', '), kind).toBe(prog);
          expect(none(s!.flags || null), kind).toBe(flags);
        }
        expect(scripts.get('preun')!.prog).toEqual(['<lua>']);
      });

      it('triggers, file triggers and transaction file triggers', () => {
        const trig = pkg.triggers();
        const conds = trig.flatMap((t, i) => t.conditions.map((c) => ({ ...c, i })));
        conds.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        const want = qf(path, '[%{TRIGGERNAME}\\t%{TRIGGERFLAGS}\\t%{TRIGGERVERSION}\\n]');
        expect(conds.map((c) => `${c.name}\t${c.flags}\t${c.version}\n`).join('')).toBe(want);
        expect(trig.map((t) => t.body + '\n@@\n').join('')).toBe(qf(path, '[%{TRIGGERSCRIPTS}\\n@@\\n]'));
        expect(trig.map((t) => t.prog[0] + '\n').join('')).toBe(qf(path, '[%{TRIGGERSCRIPTPROG}\\n]'));
        expect(trig.map((t) => t.kind).sort()).toEqual(['triggerin', 'triggerpostun', 'triggerun']);
        for (const [list, P] of [[pkg.fileTriggers(), 'FILETRIGGER'], [pkg.transFileTriggers(), 'TRANSFILETRIGGER']] as const) {
          const c = list.flatMap((t) => t.conditions).map((d) => `${d.name}\t${d.flags}\n`).sort().join('');
          const w = qf(path, `[%{${P}NAME}\\t%{${P}FLAGS}\\n]`).split(/(?<=\n)/).sort().join('');
          expect(c, P).toBe(w);
          expect(list.map((t) => t.body + '\n@@\n').join(''), P).toBe(qf(path, `[%{${P}SCRIPTS}\\n@@\\n]`));
          expect(list.map((t) => `${t.priority}\n`).join(''), P).toBe(qf(path, `[%{${P}PRIORITIES}\\n]`));
          expect(list.map((t) => `${t.prog[0]}\n`).join(''), P).toBe(qf(path, `[%{${P}SCRIPTPROG}\\n]`));
        }
        expect(pkg.fileTriggers().find((t) => t.kind === 'triggerun')!.priority).toBe(20000);
      });

      it('changelog', () => {
        const want = qf(path, '[%{CHANGELOGTIME}\\n%{CHANGELOGNAME}\\n%{CHANGELOGTEXT}\\n@@\\n]');
        expect(pkg.changelog().map((c) => `${c.time}\n${c.name}\n${c.text}\n@@\n`).join('')).toBe(want);
        expect(pkg.changelog()).toHaveLength(2);
      });

      it('openRpm over a file handle reads the same headers without the payload', async () => {
        const fh = await open(path, 'r');
        let maxPos = 0;
        try {
          const streamed = await openRpm(
            {
              read: async (buf: Uint8Array, off: number, len: number, pos: number) => {
                maxPos = Math.max(maxPos, pos + len);
                return (await fh.read(buf, off, len, pos)).bytesRead;
              },
              close: () => fh.close(),
            },
            basename(path),
          );
          expect(streamed.headerBytes).toEqual(pkg.headerBytes);
          expect(streamed.files()).toEqual(pkg.files());
          expect(maxPos).toBe(pkg.layout.headerEnd);
        } finally {
          await fh.close();
        }
      });
    });
  }

  it.skipIf(!HAVE_CREATEREPO)('the main header range is createrepo_c\'s rpm:header-range', () => {
    const path = built(everythingPackage('w19.zstdio', 'noarch'));
    const dir = mkdtempSync(join(tmpdir(), 'xylem-rpm-range-'));
    copyFileSync(path, join(dir, basename(path)));
    execFileSync('createrepo_c', ['--quiet', '--no-database', dir]);
    const primary = readdirSync(join(dir, 'repodata')).find((f) => f.endsWith('primary.xml.gz'))!;
    const xml = gunzipSync(readFileSync(join(dir, 'repodata', primary))).toString('utf8');
    const m = /<rpm:header-range start="(\d+)" end="(\d+)"\/>/.exec(xml)!;
    const pkg: RpmPackage = parseRpm(new Uint8Array(readFileSync(path)), basename(path));
    expect([pkg.layout.headerStart, pkg.layout.headerEnd]).toEqual([Number(m[1]), Number(m[2])]);
    expect(pkg.metadataBytes.length).toBe(pkg.layout.headerEnd);
    expect(pkg.nevra.arch).toBe('noarch');
  });
  it('I18N strings: one value per HEADERI18NTABLE locale, as rpm picks them by LANGUAGE', () => {
    const path = buildRpm({ name: 'i18n', preamble: ['Summary(de): Ein Paket', 'Summary(fr): Un paquet'] }, mkdtempSync(join(tmpdir(), 'xylem-rpm-i18n-')));
    const pkg = parseRpm(new Uint8Array(readFileSync(path)), basename(path));
    const langs = qf(path, '[%{HEADERI18NTABLE}\\n]').trim().split('\n');
    expect(pkg.header.getStringArray(100)).toEqual(langs);
    const summaries = pkg.header.getI18nString(1004)!;
    expect([...summaries.keys()]).toEqual(langs);
    for (const lang of langs) {
      const want = execFileSync('rpm', ['-qp', '--qf', '%{SUMMARY}', path], { encoding: 'utf8', env: { ...process.env, LANGUAGE: lang, LC_ALL: 'C.UTF-8' } });
      expect(summaries.get(lang), lang).toBe(want);
    }
    expect(pkg.info().summary).toBe(qf(path, '%{SUMMARY}'));
  });

  it('a source package: no SOURCERPM, arch src, its spec file as payload', async () => {
    const path = buildSrpm({ name: 'srcpkg', version: '3.1', release: '2' }, mkdtempSync(join(tmpdir(), 'xylem-rpm-srpm-')));
    const pkg = parseRpm(new Uint8Array(readFileSync(path)), basename(path));
    expect(qf(path, '%{SOURCEPACKAGE} %{SOURCERPM}')).toBe('1 (none)');
    expect(pkg.info()).toMatchObject({ isSource: true, sourcerpm: null, name: 'srcpkg', version: '3.1', release: '2' });
    expect(pkg.nevra.arch).toBe('src');
    expect(pkg.files().map((f) => f.path).join('\n') + '\n').toBe(qf(path, '[%{FILENAMES}\\n]'));
    const spec = execFileSync('sh', ['-c', `rpm2cpio '${path}' | cpio -i --quiet --to-stdout srcpkg.spec`], { encoding: 'utf8' });
    const entries: string[] = [];
    for await (const e of pkg.entries()) entries.push(new TextDecoder().decode(await e.bytes()));
    expect(entries).toEqual([spec]);
  });
});

// .repo files read as dnf reads them: the same files go through dnf's own Python API (dnf.Base
// read_all_repos, with releasever/basearch substitutions) and through parseRepoFile / readRepoDir;
// every option both know must agree (lists, continuation lines, booleans, durations with
// suffixes, never/-1, exclude + excludepkgs merged). Values dnf rejects as invalid are errors here
// naming the file and line.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { missing } from '../helpers/require-tool.ts';
import { parseRepoFile, readRepoDir, readRepoVars, substituteVars } from '../../src/rpmmd/index.ts';
import { XylemError } from '../../src/util/errors.ts';

const PY = '/usr/bin/python3';
function hasDnfPython(): boolean {
  try {
    execFileSync(PY, ['-c', 'import dnf'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const VARS = { releasever: '40', basearch: 'x86_64' };

const DNF_DUMP = `
import dnf, json, sys
b = dnf.Base()
b.conf.reposdir = [sys.argv[1]]
b.conf.substitutions['releasever'] = '40'
b.conf.substitutions['basearch'] = 'x86_64'
b.read_all_repos()
out = []
for r in sorted(b.repos.all(), key=lambda r: r.id):
    out.append(dict(id=r.id, name=r.name, baseurl=list(r.baseurl), mirrorlist=r.mirrorlist, metalink=r.metalink,
        enabled=bool(r.enabled), gpgcheck=bool(r.gpgcheck), repoGpgcheck=bool(r.repo_gpgcheck), gpgkey=list(r.gpgkey),
        metadataExpire=r.metadata_expire, priority=r.priority, cost=r.cost, excludepkgs=list(r.excludepkgs),
        includepkgs=list(r.includepkgs), skipIfUnavailable=bool(r.skip_if_unavailable)))
print(json.dumps(out))
`;

const FILES: Record<string, string> = {
  'fedora.repo': `# Fedora
[fedora]
name=Fedora $releasever - $basearch
baseurl=http://a.invalid/$releasever/$basearch/os/
  http://b.invalid/\${releasever}/os/, http://c.invalid/x
enabled=1
gpgcheck = yes
repo_gpgcheck=0
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-$basearch file:///etc/pki/k2
metadata_expire=6h
priority=10
cost=500
exclude=foo* bar
excludepkgs=baz
includepkgs=a,b
skip_if_unavailable=True
; another comment
countme=1

[updates]
name=Updates
metalink=https://mirrors.invalid/metalink?repo=updates-released-f$releasever&arch=$basearch
metadata_expire=never
enabled=off
priority=0
`,
  'more.repo': `[m]
name=M
mirrorlist=http://m.invalid/list/$basearch
metadata_expire=3d
gpgcheck=FALSE
[n]
name=N
baseurl=/srv/repos/n
metadata_expire=-1
skip_if_unavailable=no
[o]
name=O
baseurl=http://o.invalid/
metadata_expire=1.5h
[p]
name=P
baseurl=http://p.invalid/
metadata_expire=90m
repo_gpgcheck=on
`,
};

describe.skipIf(missing('.repo files vs dnf', { 'python3-dnf': hasDnfPython() }))('.repo files as dnf reads them', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-repofile-'));
    mkdirSync(join(dir, 'yum.repos.d'));
    for (const [n, t] of Object.entries(FILES)) writeFileSync(join(dir, 'yum.repos.d', n), t);
    writeFileSync(join(dir, 'yum.repos.d', 'ignored.txt'), 'not a repo file');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('agrees with dnf on every option of every repo', async () => {
    const theirs = JSON.parse(execFileSync(PY, ['-c', DNF_DUMP, join(dir, 'yum.repos.d')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Array<Record<string, unknown>>;
    const ours = (await readRepoDir(createNodeHost(), join(dir, 'yum.repos.d'), VARS)).sort((a, b) => a.id.localeCompare(b.id));
    expect(ours.map((r) => r.id)).toEqual(theirs.map((r) => r.id));
    for (let i = 0; i < ours.length; i++) {
      const o = ours[i]!;
      const t = theirs[i]!;
      // dnf keeps a bare path as written; we make it a file:// URL.
      const baseurl = o.baseurl.map((u) => u.replace(/^file:\/\//, ''));
      const tBaseurl = (t.baseurl as string[]).map((u) => u.replace(/^file:\/\//, ''));
      expect({ ...o, baseurl, extra: undefined, source: undefined }, o.id).toEqual({ ...t, baseurl: tBaseurl, extra: undefined, source: undefined });
    }
    expect(ours.find((r) => r.id === 'fedora')!.extra).toEqual({ countme: '1' });
    expect(ours.length).toBe(6);
  });

  it('reads vars folders as dnf does (first line of each file, later folders win)', async () => {
    const a = join(dir, 'vars-a');
    const b = join(dir, 'vars-b');
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(join(a, 'myvar'), 'foo\nbar\n');
    writeFileSync(join(a, 'sp'), '  spaced  \n');
    writeFileSync(join(a, 'nonl'), 'x');
    writeFileSync(join(a, 'empty'), '');
    writeFileSync(join(a, 'over'), 'from-a\n');
    writeFileSync(join(b, 'over'), 'from-b\n');
    mkdirSync(join(b, 'subdir'));
    const py = `import dnf, json\nb = dnf.Base()\nb.conf.substitutions.update_from_etc('/', varsdir=(${JSON.stringify(a)}, ${JSON.stringify(b)}))\nprint(json.dumps({k: v for k, v in b.conf.substitutions.items() if k not in ('arch', 'basearch', 'releasever')}))`;
    const theirs = JSON.parse(execFileSync(PY, ['-c', py], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Record<string, string>;
    const ours = await readRepoVars(createNodeHost(), [a, b, join(dir, 'missing')]);
    expect(ours).toEqual(theirs);
    expect(ours.over).toBe('from-b');
    const [r] = parseRepoFile('[v]\nbaseurl=http://x.invalid/$myvar/${over}/\n', { fileName: 'v.repo', vars: ours });
    expect(r!.baseurl).toEqual(['http://x.invalid/foo/from-b/']);
  });

  for (const [line, re] of [
    ['enabled=maybe', /b\.repo:4: enabled: invalid boolean value 'maybe'/],
    ['metadata_expire=5x', /b\.repo:4: metadata_expire: invalid duration/],
    ['metadata_expire=-5', /b\.repo:4: metadata_expire: invalid duration/],
    ['priority=abc', /b\.repo:4: priority: invalid integer/],
  ] as const) {
    it(`names the line of a value dnf calls invalid: ${line}`, () => {
      const d = mkdtempSync(join(tmpdir(), 'xylem-repofile-bad-'));
      const text = `[r]\nname=x\nbaseurl=http://x.invalid/\n${line}\n`;
      writeFileSync(join(d, 'b.repo'), text);
      // dnf warns "Invalid configuration value" (then falls back to the default); we refuse.
      const dnfRun = spawnSync(PY, ['-c', DNF_DUMP, d], { encoding: 'utf8' });
      expect(dnfRun.stdout + dnfRun.stderr).toMatch(/Invalid configuration value/);
      rmSync(d, { recursive: true, force: true });
      const e = (() => {
        try {
          parseRepoFile(text, { fileName: 'b.repo' });
        } catch (x) {
          return x;
        }
        return null;
      })();
      expect(e).toBeInstanceOf(XylemError);
      expect((e as Error).message).toMatch(re);
    });
  }
});

describe('.repo parsing without dnf', () => {
  it('names bad lines and refuses ids that could escape the cache folder', () => {
    expect(() => parseRepoFile('[ok]\ngarbage\n', { fileName: 'x.repo' })).toThrow(/x\.repo:2: expected 'key=value'/);
    expect(() => parseRepoFile('name=x\n', { fileName: 'x.repo' })).toThrow(/x\.repo:1: option outside of any \[section\]/);
    expect(() => parseRepoFile('[../../etc]\n', { fileName: 'x.repo' })).toThrow(/x\.repo:1: bad repo id/);
    expect(() => parseRepoFile('[..]\n', { fileName: 'x.repo' })).toThrow(/bad repo id/);
    expect(() => parseRepoFile('[a]\n[a]\n', { fileName: 'x.repo' })).toThrow(/x\.repo:2: repository 'a' is listed more than once/);
    expect(() => parseRepoFile('[a]\nbaseurl=ftp:/bad\n', { fileName: 'x.repo' })).toThrow(/x\.repo:2: baseurl: 'ftp:\/bad' is not a URL/);
  });
  it('substitutes $var and ${var}, leaving unknown variables alone', () => {
    expect(substituteVars('$releasever/${basearch}/$nope/${nope}', VARS)).toBe('40/x86_64/$nope/${nope}');
  });
});

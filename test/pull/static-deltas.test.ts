// Static deltas in pulls, xylem vs the real ostree on twin destination repos: which delta a pull
// picks (the newest complete local commit among the advertised sources, a from-scratch one, or
// none), `pull --dry-run --require-static-deltas` printing ostree's "Delta update" line,
// `pull-local --require-static-deltas` going through the source's summary and delta indexes,
// the errors when deltas are required but missing, and trusted pull-local copying a corrupt
// object as it is (ostree does not re-checksum trusted local imports).

import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ostree, ostreeFsck, run, tool, type Tool } from '../helpers/interop.ts';

describeInterop('static deltas in pulls (vs ostree)', () => {
  vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
  let tmp: TempDir;
  let src: string;
  let a: string;
  let b: string;
  let c: string;
  let n = 0;
  const TOOLS: Tool[] = ['ostree', 'xylem'];

  beforeAll(() => {
    buildCli();
    tmp = new TempDir('xylem-pull-deltas-');
    const t = tmp.join('tree');
    mkdirSync(t);
    for (let i = 0; i < 4; i++) writeFileSync(join(t, `f${i}`), Buffer.alloc(20_000 + i, i + 1));
    src = tmp.join('src');
    run('ostree', [`--repo=${src}`, 'init', '--mode=archive']);
    a = run('ostree', [`--repo=${src}`, 'commit', '-b', 'main', '-s', 'a', `--tree=dir=${t}`]);
    appendFileSync(join(t, 'f0'), 'more');
    writeFileSync(join(t, 'g'), 'new content');
    b = run('ostree', [`--repo=${src}`, 'commit', '-b', 'main', '-s', 'b', `--tree=dir=${t}`]);
    writeFileSync(join(t, 'h'), 'no delta to this one');
    c = run('ostree', [`--repo=${src}`, 'commit', '-b', 'other', '-s', 'c', `--tree=dir=${t}`]);
    run('ostree', [`--repo=${src}`, 'static-delta', 'generate', `--from=${a}`, `--to=${b}`]);
    run('ostree', [`--repo=${src}`, 'static-delta', 'generate', '--empty', `--to=${a}`]);
    run('ostree', [`--repo=${src}`, 'summary', '-u']);
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  /** A fresh bare-user repo per tool, with origin → file://src, prepared by the tool itself. */
  function twins(prepare: (t: Tool, repo: string) => void): Record<Tool, string> {
    const out = {} as Record<Tool, string>;
    const id = n++;
    for (const t of TOOLS) {
      const repo = tmp.join(`dst-${id}-${t}`);
      run(t, [`--repo=${repo}`, 'init', '--mode=bare-user']);
      run(t, [`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', 'origin', `file://${src}`]);
      prepare(t, repo);
      out[t] = repo;
    }
    return out;
  }

  const both = (repos: Record<Tool, string>, args: string[]) =>
    TOOLS.map((t) => {
      const r = tool(t, [`--repo=${repos[t]}`, ...args]);
      return { status: r.status, stdout: r.stdout, error: r.stderr.split('\n').find((l) => l.startsWith('error:')) ?? '' };
    });

  it('--dry-run --require-static-deltas prints the same "Delta update" line; the real pull applies the delta', () => {
    const repos = twins((t, r) => run(t, [`--repo=${r}`, 'pull', 'origin', `main@${a}`]));
    for (const target of ['main', b]) {
      const [o, x] = both(repos, ['pull', '--dry-run', '--require-static-deltas', 'origin', target]);
      expect(o!.status).toBe(0);
      expect(o!.stdout).toMatch(/^Delta update: 0\/1 parts, 0 bytes\/.+ total uncompressed\n$/);
      expect(x).toEqual(o);
    }
    for (const t of TOOLS) expect(run(t, [`--repo=${repos[t]}`, 'rev-parse', 'origin:main'])).toBe(a); // nothing written
    // --dry-run alone is refused by both
    const [od, xd] = both(repos, ['pull', '--dry-run', 'origin', 'main']);
    expect(od!.error).toBe('error: --dry-run requires --require-static-deltas');
    expect(xd).toEqual(od);
    // the real pull: the delta from the local commit; ostree fscks the result
    for (const t of TOOLS) {
      run(t, [`--repo=${repos[t]}`, 'pull', '--require-static-deltas', 'origin', 'main']);
      expect(run(t, [`--repo=${repos[t]}`, 'rev-parse', 'origin:main'])).toBe(b);
      ostreeFsck(repos[t]);
    }
    expect(run('ostree', [`--repo=${repos.xylem}`, 'ls', '-R', '-C', b])).toBe(run('ostree', [`--repo=${src}`, 'ls', '-R', '-C', b]));
    // already complete: nothing to transfer, and a no-op pull with deltas required succeeds
    const [o, x] = both(repos, ['pull', '--dry-run', '--require-static-deltas', 'origin', 'main']);
    expect(o!.stdout).toBe('Delta update: 0/0 parts, 0 bytes/0 bytes, 0 bytes total uncompressed\n');
    expect(x).toEqual(o);
    const [on, xn] = both(repos, ['pull', '--require-static-deltas', 'origin', 'main']);
    expect(on!.status).toBe(0);
    expect(xn!.status).toBe(0);
  });

  it('pull-local --require-static-deltas finds a delta from any complete local commit (no ref needed)', () => {
    // the destination has A only as a bare commit: the A→B delta is still chosen for B
    const repos = twins((t, r) => run(t, [`--repo=${r}`, 'pull-local', src, a]));
    for (const t of TOOLS) {
      run(t, [`--repo=${repos[t]}`, 'pull-local', '--require-static-deltas', src, b]);
      ostreeFsck(repos[t]);
      run('ostree', [`--repo=${repos[t]}`, 'ls', b]);
    }
  });

  it('fails the same way when deltas are required but none leads to the target', () => {
    const repos = twins((t, r) => run(t, [`--repo=${r}`, 'pull-local', src, a]));
    const [o, x] = both(repos, ['pull-local', '--require-static-deltas', src, c]);
    expect(o!.status).not.toBe(0);
    expect(o!.error).toContain('Static deltas required, but none found for');
    expect(x).toEqual(o);
    const [o2, x2] = both(repos, ['pull', '--require-static-deltas', 'origin', 'other']);
    expect(o2!.error).toContain('Static deltas required, but none found for');
    expect(x2).toEqual(o2);
    // an archive repo cannot use deltas at all
    const arch = TOOLS.map((t) => {
      const r = tmp.join(`arch-${t}`);
      run(t, [`--repo=${r}`, 'init', '--mode=archive']);
      const res = tool(t, [`--repo=${r}`, 'pull-local', '--require-static-deltas', src, b]);
      return { status: res.status, error: res.stderr.split('\n').find((l) => l.startsWith('error:')) };
    });
    expect(arch[0]!.error).toBe("error: Can't use static deltas in an archive repo");
    expect(arch[1]).toEqual(arch[0]);
  });

  it('a delta carrying an unsigned commit is refused before anything is written when gpg-verify is on', () => {
    const repos = twins((t, r) => {
      run(t, [`--repo=${r}`, 'pull', 'origin', `main@${a}`]);
      run(t, [`--repo=${r}`, 'remote', 'add', 'signed', `file://${src}`]); // gpg-verify defaults to true
    });
    const res = both(repos, ['pull', '--require-static-deltas', 'signed', 'main']);
    expect(res[0]!.status).not.toBe(0);
    expect(res[0]!.error).toMatch(/GPG verification enabled, but no signatures found/);
    expect(res[1]!.status).toBe(res[0]!.status);
    expect(res[1]!.error).toMatch(/GPG verification enabled, but no signatures found/);
    for (const t of TOOLS) expect(tool(t, [`--repo=${repos[t]}`, 'show', b]).status).not.toBe(0);
  });

  it('trusted pull-local copies a corrupt bare-user object into an archive repo as ostree does', () => {
    const bu = tmp.join('corrupt-src');
    run('ostree', [`--repo=${bu}`, 'init', '--mode=bare-user']);
    run('ostree', [`--repo=${bu}`, 'pull-local', src, b]);
    const f = run('ostree', [`--repo=${bu}`, 'ls', '-C', b, '/g']).split(/\s+/)[4]!;
    const path = join(bu, 'objects', f.slice(0, 2), `${f.slice(2)}.file`);
    // swap bytes in place: same inode, so the user.ostreemeta xattr stays
    const data = readFileSync(path);
    for (let i = 0; i + 1 < data.length; i += 2) [data[i], data[i + 1]] = [data[i + 1]!, data[i]!];
    writeFileSync(path, data);
    expect(ostree([`--repo=${bu}`, 'fsck']).status).not.toBe(0);
    for (const t of TOOLS) {
      const dst = tmp.join(`corrupt-dst-${t}`);
      rmSync(dst, { recursive: true, force: true });
      run(t, [`--repo=${dst}`, 'init', '--mode=archive']);
      run(t, [`--repo=${dst}`, 'pull-local', bu, b]);
      const fsck = ostree([`--repo=${dst}`, 'fsck']);
      expect(fsck.status).not.toBe(0);
      expect(fsck.stderr).toMatch(new RegExp(`Corrupted.*${f}`));
      // --untrusted verifies and refuses
      const dst2 = tmp.join(`corrupt-untrusted-${t}`);
      rmSync(dst2, { recursive: true, force: true });
      run(t, [`--repo=${dst2}`, 'init', '--mode=archive']);
      const u = tool(t, [`--repo=${dst2}`, 'pull-local', '--untrusted', bu, b]);
      expect(u.status).not.toBe(0);
      expect(u.stderr).toMatch(/Corrupted/);
    }
  });
});

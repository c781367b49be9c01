// Pulls into a repo with a core.parent: objects the parent already has count as present and are
// not copied (ostree_repo_has_object looks through the parent), and the child still reads and
// fscks the commit through its parent. Compared with the real ostree on twin child repos.

import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ostreeFsck, run, type Tool } from '../helpers/interop.ts';

function countFilez(repo: string): number {
  return (readdirSync(join(repo, 'objects'), { recursive: true }) as string[]).filter((f) => f.endsWith('.filez')).length;
}

describeInterop('pull into a repo with a parent (vs ostree)', () => {
  vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });
  let tmp: TempDir;

  beforeAll(() => {
    buildCli();
    tmp = new TempDir('xylem-pull-parent-');
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  it('pull-local copies only what the parent lacks, as ostree', () => {
    const files = tmp.join('files');
    mkdirSync(files);
    const parent = tmp.join('parent');
    run('ostree', [`--repo=${parent}`, 'init', '--mode=archive']);
    for (let i = 1; i <= 3; i++) writeFileSync(join(files, `afile${i}`), `afile${i}\n`);
    run('ostree', [`--repo=${parent}`, 'commit', '-b', 'test', files]);
    for (let i = 4; i <= 6; i++) writeFileSync(join(files, `afile${i}`), `afile${i}\n`);
    const other = tmp.join('other');
    run('ostree', [`--repo=${other}`, 'init', '--mode=archive']);
    const rev = run('ostree', [`--repo=${other}`, 'commit', '-b', 'childtest', files]);
    const counts: Record<string, number> = {};
    for (const t of ['ostree', 'xylem'] as Tool[]) {
      const child = tmp.join(`child-${t}`);
      run(t, [`--repo=${child}`, 'init', '--mode=archive']);
      appendFileSync(join(child, 'config'), `parent=${parent}\n`);
      run(t, [`--repo=${child}`, 'pull-local', other, 'childtest']);
      counts[t] = countFilez(child);
      expect(run(t, [`--repo=${child}`, 'rev-parse', 'childtest'])).toBe(rev);
      ostreeFsck(child);
    }
    expect(counts.ostree).toBe(3);
    expect(counts.xylem).toBe(counts.ostree);
  });
});

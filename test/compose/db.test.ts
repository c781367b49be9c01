// `rpm-xylem db diff | list | version` on commits the real ostree wrote, with the package list in
// `rpmostree.rpmdb.pkglist` given in GVariant text (ostree commit --add-metadata): our reader must
// take ostree's serialisation, and the output follows rpm-ostree's formats (rpm-packages.md §9.4).

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OSTREE, ROOT, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/rpm-xylem/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(missing('db diff on ostree commits', { ostree: OSTREE !== null }))('db', () => {
  const tmp = new TempDir('xylem-db-');
  afterAll(() => tmp.cleanup());
  const repo = join(tmp.path, 'repo');
  const tree = join(tmp.path, 'tree');
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'f'), 'x');
  execFileSync(OSTREE!, ['init', `--repo=${repo}`, '--mode=bare-user']);
  const commit = (list: string, extra: string[] = []) =>
    execFileSync(OSTREE!, ['commit', `--repo=${repo}`, '-b', 'os', `--tree=dir=${tree}`, `--add-metadata=rpmostree.rpmdb.pkglist=${list}`, ...extra], { encoding: 'utf8' }).trim();
  const c1 = commit("[('bash','0','5.1','2.fc38','x86_64'),('glibc','0','2.37','4','x86_64'),('kernel','0','6.1','1','x86_64'),('perl','4','5.36','1','x86_64')]");
  const c2 = commit("[('bash','0','5.2','1.fc38','x86_64'),('glibc','0','2.37','4','x86_64'),('perl','4','5.34','1','x86_64'),('zsh','0','5.9','1','x86_64')]");
  const plain = execFileSync(OSTREE!, ['commit', `--repo=${repo}`, '-b', 'plain', `--tree=dir=${tree}`], { encoding: 'utf8' }).trim();

  it('diff, block format', () => {
    const r = cli(['db', 'diff', '-r', repo, 'os^', 'os']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `ostree diff commit from: os^ (${c1})\nostree diff commit to:   os (${c2})\n` +
        'Upgraded:\n  bash 5.1-2.fc38 -> 5.2-1.fc38\nDowngraded:\n  perl 4:5.36-1 -> 4:5.34-1\nRemoved:\n  kernel-6.1-1.x86_64\nAdded:\n  zsh-5.9-1.x86_64\n',
    );
    // A checksum given as is is not repeated.
    expect(cli(['db', 'diff', '-r', repo, c1, c2]).stdout.split('\n').slice(0, 2)).toEqual([`ostree diff commit from: ${c1}`, `ostree diff commit to:   ${c2}`]);
  });

  it('diff -F diff and -F json', () => {
    const d = cli(['db', 'diff', '-F', 'diff', '-r', repo, c1, c2]).stdout.split('\n').slice(2).join('\n');
    expect(d).toBe('!bash-5.1-2.fc38.x86_64\n=bash-5.2-1.fc38.x86_64\n!perl-4:5.36-1.x86_64\n=perl-4:5.34-1.x86_64\n-kernel-6.1-1.x86_64\n+zsh-5.9-1.x86_64\n');
    const j = JSON.parse(cli(['db', 'diff', '-F', 'json', '-r', repo, c1, c2]).stdout);
    expect(j['ostree-commit-from']).toBe(c1);
    expect(j['ostree-commit-to']).toBe(c2);
    expect(j.pkgdiff).toEqual([
      ['bash', 2, { PreviousPackage: ['bash', '5.1-2.fc38', 'x86_64'], NewPackage: ['bash', '5.2-1.fc38', 'x86_64'] }],
      ['kernel', 1, { PreviousPackage: ['kernel', '6.1-1', 'x86_64'] }],
      ['perl', 3, { PreviousPackage: ['perl', '4:5.36-1', 'x86_64'], NewPackage: ['perl', '4:5.34-1', 'x86_64'] }],
      ['zsh', 0, { NewPackage: ['zsh', '5.9-1', 'x86_64'] }],
    ]);
  });

  it('list, version and errors', () => {
    expect(cli(['db', 'list', '-r', repo, 'os', 'b*', 'zsh']).stdout).toBe(`ostree commit: os (${c2})\n bash-5.2-1.fc38.x86_64\n zsh-5.9-1.x86_64\n`);
    const v = cli(['db', 'version', '-r', repo, 'os']).stdout;
    const sha = execFileSync('sh', ['-c', "printf '%s' 'bash-5.2-1.fc38.x86_64glibc-2.37-4.x86_644:perl-5.34-1.x86_64zsh-5.9-1.x86_64' | sha256sum"], { encoding: 'utf8' }).split(' ')[0];
    expect(v).toBe(`ostree commit: os (${c2})\n  rpmdbv is: 4:${sha}\n`);
    const bad = cli(['db', 'diff', '-r', repo, 'plain', 'os']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(`error: Commit ${plain} has no rpmostree.rpmdb.pkglist metadata (not composed by rpm-ostree or rpm-xylem)\n`);
    expect(cli(['db', 'diff', '-F', 'xml', '-r', repo, 'os^', 'os']).stderr).toMatch(/error: usage error: Format argument is invalid/);
  });
});

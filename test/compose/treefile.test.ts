// Treefile loading: YAML and JSON, includes with rpm-ostree's merge rules (lists from includes
// first — with `include: [a, b]` the order is b, a, self, which is the run order rpm-ostree
// documents for inline postprocess scripts —, scalars from the including file win), variables,
// packages-$basearch, unknown keys refused naming the file, include loops refused.

import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { loadTreefile, printTreefile } from '../../src/compose/treefile.ts';

const host = createNodeHost();
const dir = mkdtempSync(join(tmpdir(), 'xylem-treefile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function w(name: string, text: string): string {
  const p = join(dir, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

describe('treefile', () => {
  it('parses YAML with variables, whitespace-split packages and packages-$basearch', async () => {
    const p = w('a.yaml', `ref: fedora/\${releasever}/\${basearch}/\${flavor}\nreleasever: 40\nvariables:\n  flavor: silverblue\nrepos: [fx]\npackages:\n  - "bash  coreutils"\n  - kernel\npackages-x86_64: [grub2]\npackages-aarch64: [uboot]\nautomatic-version-prefix: 10\n`);
    const tf = await loadTreefile(host.fs, p);
    expect(tf.ref).toBe('fedora/40/x86_64/silverblue');
    expect(tf.packages).toEqual(['bash', 'coreutils', 'kernel', 'grub2']);
    expect(tf.automaticVersionPrefix).toBe('10');
    expect(tf.automaticVersionSuffix).toBe('.');
    expect(tf.selinux).toBe(true);
    expect(tf.recommends).toBe(true);
    const arm = await loadTreefile(host.fs, p, { basearch: 'aarch64' });
    expect(arm.packages).toEqual(['bash', 'coreutils', 'kernel', 'uboot']);
  });

  it('merges includes as rpm-ostree', async () => {
    w('base.yaml', `ref: base/ref\npackages: [base-pkg]\nselinux: false\npostprocess: ["echo base"]\nadd-commit-metadata: {from: base, only-base: 1}\nunits: [a.service]\n`);
    w('extra.json', JSON.stringify({ packages: ['extra-pkg'], postprocess: ['echo extra'], 'tmp-is-dir': true, 'boot-location': 'modules', selinux: true }));
    const top = w('top.yaml', `include: [base.yaml, extra.json]\nref: top/ref\npackages: [top-pkg]\npostprocess: ["echo top"]\nadd-commit-metadata: {from: top}\n`);
    const tf = await loadTreefile(host.fs, top);
    expect(tf.ref).toBe('top/ref');
    expect(tf.packages).toEqual(['extra-pkg', 'base-pkg', 'top-pkg']);
    expect(tf.postprocess).toEqual(['echo extra', 'echo base', 'echo top']);
    // The first include's scalar wins over the second's; the includer wins over both.
    expect(tf.selinux).toBe(false);
    expect(tf.tmpIsDir).toBe(true);
    expect(tf.bootLocation).toBe('modules');
    expect(tf.addCommitMetadata).toEqual({ from: 'top', 'only-base': 1 });
    expect(tf.units).toEqual(['a.service']);
    expect(tf.externals.map((e) => e.path)).toEqual([join(dir, 'base.yaml'), join(dir, 'extra.json'), top]);
    expect(JSON.parse(printTreefile(tf)).include).toBeUndefined();
  });

  it('resolves add-files and postprocess-script against the file that names them', async () => {
    w('files/motd', 'hello\n');
    w('files/post.sh', '#!/bin/sh\ntrue\n');
    w('files/inc.yaml', 'add-files: [[motd, /usr/etc/motd]]\npostprocess-script: post.sh\n');
    const top = w('withfiles.yaml', 'include: files/inc.yaml\nref: r\npackages: [p]\n');
    const tf = await loadTreefile(host.fs, top);
    expect(tf.addFiles).toEqual([[join(dir, 'files/motd'), '/usr/etc/motd']]);
    expect(tf.postprocessScript).toBe(join(dir, 'files/post.sh'));
    expect(tf.externals.map((e) => e.path)).toContain(join(dir, 'files/motd'));
  });

  it('refuses unknown keys, loops, bad types and unknown variables', async () => {
    await expect(loadTreefile(host.fs, w('bad.yaml', 'ref: r\npackages: [p]\npackagez: [q]\n'))).rejects.toThrow(`Parsing ${join(dir, 'bad.yaml')}: unknown field \`packagez\``);
    w('loop1.yaml', 'include: loop2.yaml\nref: r\npackages: [p]\n');
    w('loop2.yaml', 'include: ./loop1.yaml\n');
    await expect(loadTreefile(host.fs, join(dir, 'loop1.yaml'))).rejects.toThrow(/Include loop detected/);
    await expect(loadTreefile(host.fs, w('type.yaml', 'ref: r\npackages: p\n'))).rejects.toThrow(/invalid type for `packages`/);
    await expect(loadTreefile(host.fs, w('var.yaml', 'ref: r/${nope}\npackages: [p]\n'))).rejects.toThrow(/unknown variable 'nope'/);
    await expect(loadTreefile(host.fs, w('noref.yaml', 'packages: [p]\n'))).rejects.toThrow(/has no `ref`/);
    await expect(loadTreefile(host.fs, w('esc.yaml', 'ref: r\npackages: [p]\nremove-files: [../etc]\n'))).rejects.toThrow(/stay in the tree/);
    await expect(loadTreefile(host.fs, w('missing.yaml', 'include: nowhere.yaml\nref: r\npackages: [p]\n'))).rejects.toThrow(/nowhere.yaml: No such file/);
  });
});

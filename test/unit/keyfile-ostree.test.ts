// KeyFile vs the real ostree CLI: ostree rewrites the repo config through GKeyFile (loaded without
// G_KEY_FILE_KEEP_COMMENTS); replaying the same edits with KeyFile must give byte-identical files.

import { execFileSync } from 'node:child_process';
import { missing } from '../helpers/require-tool.ts';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyFile } from '../../src/format/keyfile.ts';

const OSTREE = '/usr/bin/ostree';

describe.skipIf(missing('KeyFile vs ostree config edits', { [OSTREE]: existsSync(OSTREE) }))('KeyFile vs ostree config edits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xylem-kf-'));
  const repo = join(dir, 'repo');
  const config = join(repo, 'config');
  const ostree = (...args: string[]): string => execFileSync(OSTREE, [`--repo=${repo}`, ...args], { encoding: 'utf8', stdio: 'pipe' });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reproduces init, config set/unset, remote add/delete byte for byte', () => {
    execFileSync(OSTREE, [`--repo=${repo}`, 'init', '--mode=bare-user']);
    const ours = new KeyFile();
    ours.set('core', 'repo_version', '1');
    ours.set('core', 'mode', 'bare-user');
    expect(readFileSync(config, 'utf8')).toBe(ours.toString());

    // ostree drops comments when it rewrites (G_KEY_FILE_NONE).
    writeFileSync(config, '# my comment\n\n[core]\nrepo_version=1\nmode=bare-user\n# trailing\n');
    const kf = KeyFile.parse(readFileSync(config, 'utf8'), config, { keepComments: false });
    ostree('config', 'set', 'core.min-free-space-percent', '0');
    kf.set('core', 'min-free-space-percent', '0');
    expect(readFileSync(config, 'utf8')).toBe(kf.toString());

    ostree('config', 'set', 'remote "x".url', 'http://a');
    kf.set('remote "x"', 'url', 'http://a');
    expect(readFileSync(config, 'utf8')).toBe(kf.toString());

    ostree('remote', 'add', '--set=branches=a;b', '--no-gpg-verify', 'o2', 'http://h/with space');
    kf.set('remote "o2"', 'url', 'http://h/with space');
    kf.set('remote "o2"', 'branches', 'a;b');
    kf.setBoolean('remote "o2"', 'gpg-verify', false);
    expect(readFileSync(config, 'utf8')).toBe(kf.toString());
    expect(kf.getBoolean('remote "o2"', 'gpg-verify')).toBe(false);
    expect(kf.getStringList('remote "o2"', 'branches')).toEqual(['a', 'b']);

    ostree('remote', 'delete', 'o2');
    expect(kf.removeGroup('remote "o2"')).toBe(true);
    expect(readFileSync(config, 'utf8')).toBe(kf.toString());

    ostree('config', 'unset', 'core.min-free-space-percent');
    expect(kf.remove('core', 'min-free-space-percent')).toBe(true);
    expect(readFileSync(config, 'utf8')).toBe(kf.toString());
  });

  it('ostree reads what KeyFile writes (escapes included)', () => {
    const kf = KeyFile.parse(readFileSync(config, 'utf8'), config);
    expect(kf.toString()).toBe(readFileSync(config, 'utf8'));
    kf.set('core', 'xylem-note', '  leading spaces, tab\there; back\\slash');
    kf.setStringList('remote "x"', 'branches', ['main', 'semi;colon']);
    writeFileSync(config, kf.toString());
    expect(ostree('config', 'get', 'core.xylem-note')).toBe('  leading spaces, tab\there; back\\slash\n');
    expect(ostree('config', 'get', '--group', 'remote "x"', 'url')).toBe('http://a\n');
    // get_string rejects the list escape '\;', in GLib (so ostree fails) and here alike.
    expect(() => ostree('config', 'get', '--group', 'remote "x"', 'branches')).toThrow();
    expect(() => kf.get('remote "x"', 'branches')).toThrow(/invalid escape/);
    expect(kf.getStringList('remote "x"', 'branches')).toEqual(['main', 'semi;colon']);
  });
});

// The client-side initramfs request in origin files, against the origin text rpm-ostree writes
// (reference note rpm-ostree.md §3.1: `[rpmostree] regenerate-initramfs=true`, `initramfs-args`
// and `initramfs-etc` as `;`-terminated GKeyFile lists), and the verbs' changes and refusals.

import { describe, expect, it } from 'vitest';
import { KeyFile } from '../../src/format/keyfile.ts';
import { renderStatusText, type DeploymentStatus } from '../../src/updater/status.ts';
import { applyInitramfsChange, emptyInitramfsRequest, needsInitramfs, normalizeEtcPath, readInitramfsRequest, writeInitramfsRequest } from '../../src/layer/initramfs-origin.ts';

// After `rpm-ostree initramfs --enable --arg=-I --arg=/etc/foo.conf` and `initramfs-etc --track=/etc/crypttab`.
const RPM_OSTREE_ORIGIN = `[origin]
baserefspec=fedora:fedora/40/x86_64/silverblue

[rpmostree]
regenerate-initramfs=true
initramfs-args=-I;/etc/foo.conf;
initramfs-etc=/etc/crypttab;
`;

describe('origin initramfs keys', () => {
  it('reads what rpm-ostree writes and writes the same text back', () => {
    const r = readInitramfsRequest(KeyFile.parse(RPM_OSTREE_ORIGIN));
    expect(r).toEqual({ regenerate: true, args: ['-I', '/etc/foo.conf'], etc: ['/etc/crypttab'] });
    expect(needsInitramfs(r)).toBe(true);
    const kf = KeyFile.parse('[origin]\nbaserefspec=fedora:fedora/40/x86_64/silverblue\n');
    writeInitramfsRequest(kf, r);
    expect(kf.toString()).toBe(RPM_OSTREE_ORIGIN);
  });

  it('disable drops the args; untracking the last file drops the group', () => {
    const kf = KeyFile.parse(RPM_OSTREE_ORIGIN);
    let r = applyInitramfsChange(readInitramfsRequest(kf), { disable: true });
    expect(r).toEqual({ regenerate: false, args: [], etc: ['/etc/crypttab'] });
    writeInitramfsRequest(kf, r);
    expect(kf.toString()).toBe('[origin]\nbaserefspec=fedora:fedora/40/x86_64/silverblue\n\n[rpmostree]\ninitramfs-etc=/etc/crypttab;\n');
    r = applyInitramfsChange(r, { untrack: ['/etc//crypttab'] });
    writeInitramfsRequest(kf, r);
    expect(kf.hasGroup('rpmostree')).toBe(false);
    expect(needsInitramfs(r)).toBe(false);
  });

  it('tracks a sorted set of normalised /etc paths', () => {
    let r = applyInitramfsChange(emptyInitramfsRequest(), { track: ['/etc/b.conf', '/etc/./a.conf', '/etc/b.conf'] });
    expect(r.etc).toEqual(['/etc/a.conf', '/etc/b.conf']);
    r = applyInitramfsChange(r, { untrackAll: true, track: ['/etc/c'] });
    expect(r.etc).toEqual(['/etc/c']);
    expect(normalizeEtcPath('/etc/x/./y')).toBe('/etc/x/y');
  });

  it('refuses bad requests and hostile origins', () => {
    const on = applyInitramfsChange(emptyInitramfsRequest(), { enable: true, args: ['--add', 'fips'] });
    expect(on).toEqual({ regenerate: true, args: ['--add', 'fips'], etc: [] });
    expect(() => applyInitramfsChange(on, { enable: true, args: ['--add', 'fips'] })).toThrow(/already enabled/);
    expect(applyInitramfsChange(on, { enable: true }).args).toEqual([]);
    expect(() => applyInitramfsChange(emptyInitramfsRequest(), { disable: true })).toThrow(/not enabled/);
    expect(() => applyInitramfsChange(emptyInitramfsRequest(), { enable: true, disable: true })).toThrow(/both/);
    expect(() => applyInitramfsChange(emptyInitramfsRequest(), { args: ['-I'] })).toThrow(/--arg without --enable/);
    for (const p of ['etc/crypttab', '/usr/etc/x', '/etc/../root/.ssh/id', '/etc', '/etc/a\0b'])
      expect(() => applyInitramfsChange(emptyInitramfsRequest(), { track: [p] }), p).toThrow(/initramfs-etc/);
    expect(() => readInitramfsRequest(KeyFile.parse('[rpmostree]\nregenerate-initramfs=yes\n'), 'x.origin')).toThrow(/x\.origin: \[rpmostree\] regenerate-initramfs must be true or false/);
    expect(() => readInitramfsRequest(KeyFile.parse('[rpmostree]\ninitramfs-etc=/etc/../../boot/x;\n'), 'x.origin')).toThrow(/x\.origin: \[rpmostree\] initramfs-etc.*'\.\.'/);
    // args without regeneration are ignored (as rpm-ostree only reads them when it regenerates)
    expect(readInitramfsRequest(KeyFile.parse('[rpmostree]\ninitramfs-args=-I;\n')).args).toEqual([]);
  });
});

describe('status shows the initramfs request', () => {
  const dep = (over: Partial<DeploymentStatus>): DeploymentStatus => ({
    id: `os-${'a'.repeat(64)}.0`, osname: 'os', serial: 0, checksum: 'a'.repeat(64), booted: true, staged: false, pinned: false, unlocked: 'none',
    origin: 'os/stable', timestamp: 1700000000, 'base-commit-meta': {}, 'gpg-enabled': false,
    'requested-packages': [], 'requested-local-packages': [], 'requested-local-fileoverride-packages': [], 'requested-base-removals': [],
    'requested-base-local-replacements': [], 'requested-base-remote-replacements': [], packages: [], 'base-removals': [],
    'base-local-replacements': [], 'base-remote-replacements': {}, 'regenerate-initramfs': false, ...over,
  });
  const render = (d: DeploymentStatus) => renderStatusText({ deployments: [d], transaction: null, 'cached-update': null, 'update-driver': null }).split('\n');
  it('Initramfs: regenerate, or the args; InitramfsEtc: the tracked files; nothing when not requested', () => {
    expect(render(dep({ 'regenerate-initramfs': true, 'initramfs-args': [] }))).toContainEqual(expect.stringMatching(/^ +Initramfs: regenerate$/));
    const lines = render(dep({ 'regenerate-initramfs': true, 'initramfs-args': ['-I', '/etc/foo.conf'], 'initramfs-etc': ['/etc/crypttab', '/etc/x'] }));
    // rpm-ostree prints each argument (shell-quoted when needed) followed by a space
    expect(lines).toContainEqual(expect.stringMatching(/^ +Initramfs: -I \/etc\/foo\.conf $/));
    expect(render(dep({ 'regenerate-initramfs': true, 'initramfs-args': ['--add', 'a b', "it's"] }))).toContainEqual(expect.stringMatching(/^ +Initramfs: --add 'a b' 'it'\\''s' $/));
    expect(lines).toContainEqual(expect.stringMatching(/^ +InitramfsEtc: \/etc\/crypttab \/etc\/x$/));
    expect(render(dep({})).join('\n')).not.toMatch(/Initramfs/);
  });
});

// The layering request in origin files, against origin texts as rpm-ostree writes them (reference
// note rpm-ostree.md §3.1: `;`-terminated GKeyFile lists, baserefspec once something is layered),
// and the verbs' request changes with rpm-ostree's refusals.

import { describe, expect, it } from 'vitest';
import { KeyFile } from '../../src/format/keyfile.ts';
import { applyChange } from '../../src/layer/change.ts';
import { emptyRequest, isLayered, parseLocalEntry, readLayerRequest, writeLayerRequest } from '../../src/layer/origin.ts';
import type { BasePackage } from '../../src/layer/base.ts';

const SHA = 'a'.repeat(64);
// An origin as rpm-ostree 2024 leaves it after `install strace tmux ./foo.rpm` and `override remove nano`.
const RPM_OSTREE_ORIGIN = `[origin]
baserefspec=fedora:fedora/40/x86_64/silverblue

[packages]
requested=strace;tmux;
requested-local=${SHA}:foo-1.0-1.x86_64;

[overrides]
remove=nano;
`;

const base = (name: string, provides: string[] = [], files: string[] = []): BasePackage => ({
  nevra: { name, epoch: null, version: '1.0', release: '1', arch: 'noarch' },
  deps: { provides: provides.map((p) => ({ name: p, flags: 0, version: '' })), requires: [], conflicts: [], obsoletes: [], recommends: [], suggests: [], supplements: [], enhances: [] } as unknown as BasePackage['deps'],
  files: files.map((path) => ({ path, mode: 0o100644 })),
  blob: new Uint8Array(),
});
const BASE = [base('nano', ['editor'], ['/usr/bin/nano']), base('docker')];

describe('origin layering keys', () => {
  it('reads what rpm-ostree writes', () => {
    const r = readLayerRequest(KeyFile.parse(RPM_OSTREE_ORIGIN));
    expect(r).toEqual({ packages: ['strace', 'tmux'], local: [`${SHA}:foo-1.0-1.x86_64`], removes: ['nano'], replaceLocal: [] });
    expect(isLayered(r)).toBe(true);
  });

  it('writes the same text back, and refspec once nothing is layered', () => {
    const kf = KeyFile.parse('[origin]\nrefspec=fedora:fedora/40/x86_64/silverblue\n');
    writeLayerRequest(kf, { packages: ['tmux', 'strace'], local: [`${SHA}:foo-1.0-1.x86_64`], removes: ['nano'], replaceLocal: [] });
    expect(kf.toString()).toBe(RPM_OSTREE_ORIGIN);
    writeLayerRequest(kf, emptyRequest());
    expect(kf.toString()).toBe('[origin]\nrefspec=fedora:fedora/40/x86_64/silverblue\n');
  });

  it('refuses malformed local entries, naming the file', () => {
    expect(() => readLayerRequest(KeyFile.parse('[packages]\nrequested-local=nothex:foo;\n'), '/x.origin')).toThrow(/\/x\.origin: invalid local package entry 'nothex:foo'/);
    expect(() => parseLocalEntry(`${SHA}:../evil`)).toThrow(/invalid local package entry/);
    const many = Array.from({ length: 10_001 }, (_, i) => `p${i}`).join(';');
    expect(() => readLayerRequest(KeyFile.parse(`[packages]\nrequested=${many};\n`))).toThrow(/more than 10000 entries/);
  });
});

describe('request changes', () => {
  const cur = emptyRequest();
  it('install / uninstall with --idempotent and --allow-inactive', () => {
    const a = applyChange(cur, { install: ['tmux'] }, BASE, new Map());
    expect(a.packages).toEqual(['tmux']);
    expect(() => applyChange(a, { install: ['tmux'] }, BASE, new Map())).toThrow("Package/capability 'tmux' is already requested");
    expect(applyChange(a, { install: ['tmux'], idempotent: true }, BASE, new Map())).toEqual(a);
    expect(() => applyChange(cur, { install: ['editor'] }, BASE, new Map())).toThrow('"editor" is already provided by: nano-1.0-1.noarch. Use --allow-inactive to explicitly require it.');
    expect(() => applyChange(cur, { install: ['/usr/bin/nano'] }, BASE, new Map())).toThrow(/already provided by: nano/);
    expect(applyChange(cur, { install: ['editor'], allowInactive: true }, BASE, new Map()).packages).toEqual(['editor']);
    expect(() => applyChange(a, { uninstall: ['vim'] }, BASE, new Map())).toThrow("Package/capability 'vim' is not currently requested");
    expect(applyChange(a, { uninstall: ['tmux'] }, BASE, new Map()).packages).toEqual([]);
  });

  it('overrides: remove, replace, reset', () => {
    const r = applyChange(cur, { removes: ['docker'] }, BASE, new Map());
    expect(r.removes).toEqual(['docker']);
    expect(() => applyChange(r, { removes: ['docker'] }, BASE, new Map())).toThrow("Override already exists for package 'docker'");
    expect(() => applyChange(cur, { removes: ['vim'] }, BASE, new Map())).toThrow("Package 'vim' not found in the base");
    const entry = `${SHA}:nano-2.0-1.noarch`;
    const p = applyChange(r, { replaceLocal: ['/tmp/nano.rpm'] }, BASE, new Map([['/tmp/nano.rpm', entry]]));
    expect(p.replaceLocal).toEqual([entry]);
    expect(applyChange(p, { resetOverrides: ['nano'] }, BASE, new Map()).replaceLocal).toEqual([]);
    expect(() => applyChange(p, { resetOverrides: ['vim'] }, BASE, new Map())).toThrow("No overrides for package 'vim'");
    expect(applyChange(p, { resetAllOverrides: true }, BASE, new Map())).toEqual(emptyRequest());
  });
});

// GPG signatures, checked against the oracles: GnuPG verifies what xylem signs, the real ostree
// accepts xylem's commitmeta/summary.sig, and xylem's `show` report is byte-identical to ostree's
// for good, missing-key, forged, revoked and expired signatures made by either tool.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TempDir, disposeCli } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import {
  SIGN_TOOLS, HAVE_GLIB, KEY1, KEY1_FPR, KEY2, KEY3, copyGpgHome, glibDictShape, gpg, gpgBinary, killAgent, must, ostreeEnv, xylemEnv,
} from './helpers.ts';
import { decode, type GVVariant } from '../../src/format/gvariant.ts';

function objPath(repo: string, csum: string, ext: string): string {
  return join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${ext}`);
}

/** The signature blobs of an a{sv} file's `ostree.gpgsigs`. */
function gpgsigs(file: string): Uint8Array[] {
  const md = decode('a{sv}', new Uint8Array(readFileSync(file))) as Array<[string, GVVariant]>;
  const e = md.find(([k]) => k === 'ostree.gpgsigs');
  return e ? (e[1].value as Uint8Array[]) : [];
}

/** `show` output with the signature times blanked (two tools sign at different instants). */
function blankTimes(s: string): string {
  return s.replace(/Signature made .* using/g, 'Signature made <t> using');
}

describe.skipIf(missing('GPG signatures', { ...SIGN_TOOLS, 'GLib (python3-gi)': HAVE_GLIB }))('GPG signatures: xylem vs ostree and gpg', () => {
  let tmp: TempDir;
  let home: string;
  let trusted: string;
  const homes: string[] = [];
  let files: string;

  beforeAll(() => {
    tmp = new TempDir('xylem-sign-');
    home = copyGpgHome(tmp.join('gpghome'));
    homes.push(home);
    trusted = join(home, 'trusted');
    files = tmp.join('files');
    mkdirSync(join(files, 'sub'), { recursive: true });
    writeFileSync(join(files, 'a'), 'alpha\n');
    writeFileSync(join(files, 'sub', 'b'), 'beta\n');
  }, 120_000);

  afterAll(() => {
    for (const h of homes) killAgent(h);
    tmp?.cleanup();
    disposeCli();
  });

  const T = { OSTREE_GPG_HOME: '' };
  const env = () => ({ ...T, OSTREE_GPG_HOME: trusted });

  it('xylem commit --gpg-sign: gpg --verify accepts the detached signature, ostree show reports a good one', () => {
    const repo = tmp.join('x1');
    must(xylemEnv([`--repo=${repo}`, 'init', '--mode=archive']), 'init');
    const csum = must(
      xylemEnv([`--repo=${repo}`, 'commit', '-b', 'main', `--tree=dir=${files}`, '-s', 'signed', `--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`], env()),
      'commit',
    ).trim();
    const sigs = gpgsigs(objPath(repo, csum, 'commitmeta'));
    expect(sigs).toHaveLength(1);
    const sigFile = tmp.join('x1.sig');
    writeFileSync(sigFile, sigs[0]!);
    const v = gpg(home, ['--verify', sigFile, objPath(repo, csum, 'commit')]);
    expect(v.status).toBe(0);
    expect(v.stderr).toContain('Good signature from "Ostree Tester <test@test.com>"');
    const packets = gpg(home, ['--list-packets', sigFile]).stdout;
    expect(packets).toMatch(/sigclass 0x00/);
    expect(packets).toMatch(/digest algo 10/);
    const show = must(ostreeEnv([`--repo=${repo}`, 'show', 'main'], env()), 'ostree show');
    expect(show).toContain('Found 1 signature:');
    expect(show).toContain('Good signature from "Ostree Tester <test@test.com>"');
    expect(must(xylemEnv([`--repo=${repo}`, 'show', 'main'], env()), 'xylem show')).toBe(show);
  }, 120_000);

  it('ostree-signed commits (3 keys): xylem show equals ostree show, with and without trusted keys', () => {
    const repo = tmp.join('o1');
    must(ostreeEnv([`--repo=${repo}`, 'init', '--mode=archive']), 'init');
    must(
      ostreeEnv(
        [`--repo=${repo}`, 'commit', '-b', 'main', `--tree=dir=${files}`, '-s', 's', `--gpg-sign=${KEY1}`, `--gpg-sign=${KEY2}`, `--gpg-sign=${KEY3}`, `--gpg-homedir=${home}`],
        env(),
      ),
      'ostree commit',
    );
    for (const e of [env(), { OSTREE_GPG_HOME: tmp.join('no-keys') }]) {
      const o = must(ostreeEnv([`--repo=${repo}`, 'show', 'main'], e), 'ostree show');
      expect(o).toContain('Found 3 signatures:');
      expect(must(xylemEnv([`--repo=${repo}`, 'show', 'main'], e), 'xylem show')).toBe(o);
    }
    const none = must(xylemEnv([`--repo=${repo}`, 'show', 'main'], { OSTREE_GPG_HOME: tmp.join('no-keys') }), 'show');
    expect(none).toContain("Can't check signature: public key not found");
    // --gpg-homedir adds that home's *.gpg keyrings
    const o = must(ostreeEnv([`--repo=${repo}`, 'show', `--gpg-homedir=${home}`, 'main'], { OSTREE_GPG_HOME: tmp.join('no-keys') }), 'show');
    expect(o).toContain('Good signature');
    expect(must(xylemEnv([`--repo=${repo}`, 'show', `--gpg-homedir=${home}`, 'main'], { OSTREE_GPG_HOME: tmp.join('no-keys') }), 'show')).toBe(o);
  }, 120_000);

  it('gpg-sign appends like ostree gpg-sign (same a{sv} layout next to other detached keys), refuses a duplicate key', () => {
    const base = tmp.join('o2');
    must(ostreeEnv([`--repo=${base}`, 'init', '--mode=archive']), 'init');
    const csum = must(
      ostreeEnv([
        `--repo=${base}`, 'commit', '-b', 'main', `--tree=dir=${files}`, '-s', 's',
        '--add-detached-metadata-string=zeta=1', '--add-detached-metadata-string=alpha=2', '--add-detached-metadata-string=ostree.x=3',
      ]),
      'commit',
    ).trim();
    const x = tmp.join('x2');
    cpSync(base, x, { recursive: true });
    must(ostreeEnv([`--repo=${base}`, 'gpg-sign', `--gpg-homedir=${home}`, 'main', KEY1, KEY2], env()), 'ostree gpg-sign');
    must(xylemEnv([`--repo=${x}`, 'gpg-sign', `--gpg-homedir=${home}`, 'main', KEY1, KEY2], env()), 'xylem gpg-sign');
    if (HAVE_GLIB) expect(glibDictShape(objPath(x, csum, 'commitmeta'))).toEqual(glibDictShape(objPath(base, csum, 'commitmeta')));
    expect(blankTimes(must(xylemEnv([`--repo=${x}`, 'show', 'main'], env()), 'show'))).toBe(
      blankTimes(must(ostreeEnv([`--repo=${base}`, 'show', 'main'], env()), 'show')),
    );
    const again = xylemEnv([`--repo=${x}`, 'gpg-sign', `--gpg-homedir=${home}`, 'main', KEY1], env());
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`error: Commit is already signed with GPG key ${KEY1}\n`);
  }, 120_000);

  it('gpg-sign --delete removes the same signatures as ostree (identical commitmeta bytes)', () => {
    const o = tmp.join('o3');
    must(ostreeEnv([`--repo=${o}`, 'init', '--mode=archive']), 'init');
    const csum = must(
      ostreeEnv([`--repo=${o}`, 'commit', '-b', 'main', `--tree=dir=${files}`, '-s', 's', '--add-detached-metadata-string=k=v', `--gpg-sign=${KEY1}`, `--gpg-sign=${KEY2}`, `--gpg-sign=${KEY3}`, `--gpg-homedir=${home}`], env()),
      'commit',
    ).trim();
    const x = tmp.join('x3');
    cpSync(o, x, { recursive: true });
    const meta = (r: string) => readFileSync(objPath(r, csum, 'commitmeta'));
    for (const keys of [[KEY2], [KEY1, KEY2, KEY3]]) {
      const a = must(ostreeEnv([`--repo=${o}`, 'gpg-sign', '--delete', 'main', ...keys], env()), 'ostree delete');
      const b = must(xylemEnv([`--repo=${x}`, 'gpg-sign', '--delete', 'main', ...keys], env()), 'xylem delete');
      expect(b).toBe(a);
      expect(Buffer.compare(meta(x), meta(o))).toBe(0);
    }
    expect(must(xylemEnv([`--repo=${x}`, 'show', 'main'], env()), 'show')).not.toContain('Found');
  }, 120_000);

  it('a signature moved onto another commit is reported BAD, as ostree does', () => {
    const o = tmp.join('o4');
    must(ostreeEnv([`--repo=${o}`, 'init', '--mode=archive']), 'init');
    const a = must(ostreeEnv([`--repo=${o}`, 'commit', '-b', 'ra', `--tree=dir=${files}`, '-s', 'A', `--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`], env()), 'c').trim();
    const b = must(ostreeEnv([`--repo=${o}`, 'commit', '-b', 'rb', `--tree=dir=${files}`, '-s', 'B']), 'c').trim();
    copyFileSync(objPath(o, a, 'commitmeta'), objPath(o, b, 'commitmeta'));
    const want = must(ostreeEnv([`--repo=${o}`, 'show', 'rb'], env()), 'ostree show');
    expect(want).toContain('BAD signature from "Ostree Tester <test@test.com>"');
    expect(must(xylemEnv([`--repo=${o}`, 'show', 'rb'], env()), 'xylem show')).toBe(want);
  }, 120_000);

  it('revoked and expired signing keys: same report as ostree', () => {
    const o = tmp.join('o5');
    must(ostreeEnv([`--repo=${o}`, 'init', '--mode=archive']), 'init');
    must(ostreeEnv([`--repo=${o}`, 'commit', '-b', 'main', `--tree=dir=${files}`, '-s', 's', `--gpg-sign=${KEY1}`, `--gpg-sign=${KEY2}`, `--gpg-homedir=${home}`], env()), 'c');
    // revoked: key 1 plus its revocation certificate
    const revHome = copyGpgHome(tmp.join('gpghome-rev'));
    homes.push(revHome);
    must(gpg(revHome, ['--import', join(revHome, 'revocations', 'key1.rev')]), 'import rev');
    const revTrusted = tmp.join('trusted-rev');
    mkdirSync(revTrusted);
    writeFileSync(join(revTrusted, 'keys.gpg'), gpgBinary(revHome, ['--export', KEY1, KEY2]));
    const rev = must(ostreeEnv([`--repo=${o}`, 'show', 'main'], { OSTREE_GPG_HOME: revTrusted }), 'show');
    expect(rev).toContain('Key revoked');
    expect(must(xylemEnv([`--repo=${o}`, 'show', 'main'], { OSTREE_GPG_HOME: revTrusted }), 'show')).toBe(rev);
    // expired: key 1 expires one second from now
    const expHome = copyGpgHome(tmp.join('gpghome-exp'));
    homes.push(expHome);
    must(gpg(expHome, ['--list-secret-keys']), 'migrate secring.gpg');
    must(gpg(expHome, ['--quick-set-expire', KEY1_FPR, 'seconds=1']), 'expire');
    spawnSync('sleep', ['2']);
    const expTrusted = tmp.join('trusted-exp');
    mkdirSync(expTrusted);
    writeFileSync(join(expTrusted, 'keys.gpg'), gpgBinary(expHome, ['--export', KEY1, KEY2]));
    const exp = must(ostreeEnv([`--repo=${o}`, 'show', 'main'], { OSTREE_GPG_HOME: expTrusted }), 'show');
    expect(exp).toContain('BAD signature from "Ostree Tester <test@test.com>"');
    expect(exp).toContain('Key expired');
    expect(must(xylemEnv([`--repo=${o}`, 'show', 'main'], { OSTREE_GPG_HOME: expTrusted }), 'show')).toBe(exp);
  }, 120_000);

  it('summary -u --gpg-sign: summary.sig holds a gpg-verifiable signature over the exact summary bytes', () => {
    const x = tmp.join('x6');
    must(xylemEnv([`--repo=${x}`, 'init', '--mode=archive']), 'init');
    must(xylemEnv([`--repo=${x}`, 'commit', '-b', 'main', `--tree=dir=${files}`, '-s', 's']), 'commit');
    must(xylemEnv([`--repo=${x}`, 'summary', '-u', `--gpg-sign=${KEY1}`, `--gpg-sign=${KEY2}`, `--gpg-homedir=${home}`], env()), 'summary');
    const sigs = gpgsigs(join(x, 'summary.sig'));
    expect(sigs).toHaveLength(2);
    for (const [i, s] of sigs.entries()) {
      const f = tmp.join(`summary-${i}.sig`);
      writeFileSync(f, s);
      const v = gpg(home, ['--verify', f, join(x, 'summary')]);
      expect(v.status).toBe(0);
      expect(v.stderr).toContain('Good signature');
    }
    // ostree's own summary.sig has the same shape
    const o = tmp.join('o6');
    cpSync(x, o, { recursive: true });
    must(ostreeEnv([`--repo=${o}`, 'summary', '-u', `--gpg-sign=${KEY1}`, `--gpg-sign=${KEY2}`, `--gpg-homedir=${home}`], env()), 'ostree summary');
    if (HAVE_GLIB) expect(glibDictShape(join(x, 'summary.sig'))).toEqual(glibDictShape(join(o, 'summary.sig')));
  }, 120_000);
});

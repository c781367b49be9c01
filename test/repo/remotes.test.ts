// Remotes vs the real ostree: the same `remote` commands run by both tools on twin repos must leave
// byte-identical config / remotes.d files and print the same output and errors. Also covers the
// engine API (options, parents, scopes), `remote refs` over file:// and GPG keyring import.

import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requireInTest } from '../helpers/require-tool.ts';
import { TempDir, buildCli, describeInterop, disposeCli, ok, ostree, run, tool, xylem, type Tool } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { KeyFile } from '../../src/format/keyfile.ts';
import {
  addRemote,
  addRemoteCookie,
  checkConfigRemotes,
  deleteRemoteCookie,
  listRemoteCookies,
  remoteCookieHeader,
  deleteRemote,
  fetchRemoteSummary,
  getRemote,
  getRemoteUrl,
  httpFetcher,
  isValidRemoteName,
  listRemotes,
  remoteBooleanOption,
  remoteGpgVerify,
  remoteListOption,
  remoteOption,
  setRemoteScope,
  type RemoteFetcher,
} from '../../src/remote/config.ts';
import { wkdUrls } from '../../src/remote/gpg-keyring.ts';

const TOOLS: Tool[] = ['ostree', 'xylem'];
const GPGHOME = '/usr/libexec/installed-tests/libostree/gpghome';

/** The `error: …` line of a failed command (ostree also prints usage text for usage errors). */
function errorLine(stderr: string): string {
  return stderr.split('\n').filter((l) => l.startsWith('error:')).join('\n');
}

/** Runs `steps` with both tools, each on its own copy of the starting repo; compares every result. */
function twin(tmp: TempDir, label: string, steps: string[][], setup?: (repo: string) => void): void {
  const results: Record<Tool, Array<{ status: number; stdout: string; error: string }>> = { ostree: [], xylem: [] };
  const configs: Record<Tool, string[]> = { ostree: [], xylem: [] };
  for (const t of TOOLS) {
    const repo = tmp.join(`${label}-${t}`);
    run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
    setup?.(repo);
    for (const step of steps) {
      const r = tool(t, [`--repo=${repo}`, ...step.map((s) => s.replaceAll('@REPO@', repo))]);
      const norm = (text: string): string => text.replaceAll(repo, '@REPO@');
      results[t].push({ status: r.status, stdout: norm(r.stdout), error: norm(errorLine(r.stderr)) });
      configs[t].push(readFileSync(`${repo}/config`, 'utf8'));
    }
  }
  for (let i = 0; i < steps.length; i++) {
    const what = `${label} step ${i + 1}: remote ${steps[i]!.join(' ')}`;
    expect(results.xylem[i], what).toEqual(results.ostree[i]);
    expect(configs.xylem[i], `${what} (config)`).toBe(configs.ostree[i]);
  }
}

describeInterop('remotes: CLI vs ostree', () => {
  vi.setConfig({ testTimeout: 120_000 });
  const tmp = new TempDir('xylem-remotes-');
  beforeAll(() => void buildCli(), 120_000);
  afterAll(() => {
    disposeCli();
    tmp.cleanup();
  });

  it('add, list, show-url and delete like test-remote-add', () => {
    twin(tmp, 'basic', [
      ['remote', 'add', 'origin', 'http://example.com/ostree/gnome'],
      ['remote', 'show-url', 'origin'],
      ['remote', 'add', '--no-sign-verify', 'another', 'http://another.com/repo'],
      ['remote', 'add', '--no-sign-verify', 'another', 'http://another.example.com/anotherrepo'],
      ['remote', 'add', '--if-not-exists', '--no-sign-verify', 'another', 'http://x'],
      ['remote', 'add', '--if-not-exists', '--no-gpg-verify', 'another-noexist', 'http://another-noexist.example.com/r'],
      ['remote', 'list'],
      ['remote', 'list', '--show-urls'],
      ['remote', 'list', '-u'],
      ['remote', 'delete', 'another'],
      ['remote', 'delete', 'nosuchremote'],
      ['remote', 'delete', '--if-exists', 'nosuchremote'],
      ['remote', 'show-url', 'nosuchremote'],
      ['remote', 'delete', '--if-exists', 'origin'],
      ['remote', 'add', '--if-not-exists', '--force', 'yetanother', 'http://yetanother.com/repo'],
      ['remote', 'add', '--force', 'another', 'http://another.example.com/anotherrepo'],
      ['remote', 'list', '-u'],
    ]);
  });

  it('writes options in ostree order with GKeyFile escaping', () => {
    twin(tmp, 'options', [
      [
        'remote', 'add', '--set=xa.title=Flat Hub', '--set=gpg-verify=true', '--no-gpg-verify', '--collection-id=org.example.Os',
        '--sign-verify=dummy=inline:AAAA', '--sign-verify=dummy=file:/etc/key', '--contenturl=http://content',
        '--custom-backend=cb', 'o2', 'http://o/repo', 'b1', 'b;2', 'b 3',
      ],
      ['remote', 'add', "--set=a= lead\\n\ttab", '--set=b=x;y', '--set=c=é', 'o3', 'mirrorlist=http://m'],
      ['remote', 'add', 'm1', 'metalink=http://metalink'],
      ['remote', 'show-url', 'm1'],
      ['remote', 'add', '--force', 'm1', 'http://q', 'b'],
      ['remote', 'add', '--custom-backend=flatpak', 'cb-only'],
      ['remote', 'list'],
      ['remote', 'show-url', 'cb-only'],
      ['remote', 'list', '-u'],
      ['remote', 'show-url', 'o2'],
      ['remote', 'add', '--no-sign-verify', 'nsv', 'http://nsv'],
    ]);
  });

  it('validates names and arguments with the same errors', () => {
    twin(tmp, 'errors', [
      ['remote', 'add', 'é', 'http://e'],
      ['remote', 'add', 'Ω_1.x-y', 'http://o'],
      ['remote', 'add', 'a b', 'http://x'],
      ['remote', 'add', '.dot', 'http://x'],
      ['remote', 'add', 'a/b', 'http://x'],
      ['remote', 'add', 'a:b', 'http://x'],
      ['remote', 'add', 'onlyname'],
      ['remote', 'add', '--set=noequals', 'x', 'http://x'],
      ['remote', 'add', '--no-sign-verify', '--sign-verify=dummy=inline:x', 'x', 'http://x'],
      ['remote', 'add', '--sign-verify=dummy', 'x', 'http://x'],
      ['remote', 'add', '--sign-verify=dummy=foo:x', 'x', 'http://x'],
      ['remote', 'add', '--sign-verify=nosuch=inline:x', 'x', 'http://x'],
      ['remote', 'delete', 'a b'],
      ['remote', 'delete', '--if-exists', 'a b'],
      ['remote', 'delete'],
      ['remote', 'show-url'],
      ['remote', 'list', '-u'],
      ['remote', 'frobnicate'],
      ['remote'],
    ]);
  });

  it('drops comments and blank lines of the config like GKeyFile, keeps group order', () => {
    const setup = (repo: string): void => {
      writeFileSync(
        `${repo}/config`,
        '# leading comment\n[core]\nrepo_version=1\n# inner\n\nmode=archive-z2\n\n\n[remote "mid"]\nurl = http://mid \n\n[zz]\nk=v\n',
      );
    };
    twin(tmp, 'comments', [['remote', 'add', 'new', 'http://new'], ['remote', 'add', '--force', 'mid', 'http://mid2']], setup);
    twin(tmp, 'comments-del', [['remote', 'delete', 'mid'], ['remote', 'delete', '--if-exists', 'mid']], setup);
  });

  it('reports a remote without url mid-listing, like ostree', () => {
    const setup = (repo: string): void => {
      writeFileSync(`${repo}/config`, '[core]\nrepo_version=1\nmode=archive-z2\n\n[remote "b"]\nx=1\n\n[remote "a"]\nurl=http://a\n\n[remote "c"]\nurl=http://c\n');
    };
    twin(tmp, 'nourl', [['remote', 'list'], ['remote', 'list', '-u'], ['remote', 'show-url', 'b']], setup);
  });

  it('inherits remotes from core.parent', () => {
    const parent = tmp.join('parent-repo');
    run('ostree', [`--repo=${parent}`, 'init', '--mode=archive']);
    run('ostree', [`--repo=${parent}`, 'remote', 'add', '--set=gpg-verify=false', 'parent-remote', 'http://parent']);
    const setup = (repo: string): void => void run('ostree', [`--repo=${repo}`, 'config', 'set', 'core.parent', parent]);
    twin(
      tmp,
      'parent',
      [
        ['remote', 'add', 'own', 'http://own'],
        ['remote', 'list', '-u'],
        ['remote', 'show-url', 'parent-remote'],
        ['remote', 'delete', 'parent-remote'],
        ['remote', 'add', 'parent-remote', 'http://shadow'],
        ['remote', 'show-url', 'parent-remote'],
        ['remote', 'list'],
      ],
      setup,
    );
  });

  it('--sysroot: physical sysroots use the repo config, deployments etc/ostree/remotes.d', () => {
    const trees: Record<Tool, string> = { ostree: '', xylem: '' };
    for (const t of TOOLS) {
      const s = tmp.join(`sysroot-${t}`);
      mkdirSync(s);
      run('ostree', ['admin', 'init-fs', s]);
      const out: string[] = [];
      const step = (args: string[]): void => {
        const r = tool(t, args);
        out.push(`${args.join(' ')} => ${r.status} ${r.stdout}${errorLine(r.stderr)}`);
      };
      step([`--sysroot=${s}`, 'remote', 'add', 'phys', 'http://phys']);
      mkdirSync(`${s}/sysroot`);
      step([`--sysroot=${s}`, 'remote', 'add', 'dep', 'http://dep', 'main']);
      step([`--sysroot=${s}`, 'remote', 'add', 'dep', 'http://dep2']);
      step([`--sysroot=${s}`, 'remote', 'add', '--force', 'dep', 'http://dep3', 'x']);
      step([`--repo=${s}/ostree/repo`, 'remote', 'list']);
      step([`--sysroot=${s}`, 'remote', 'add', '--set=k=v', 'dep2', 'http://dep2']);
      step([`--sysroot=${s}`, 'remote', 'delete', 'dep2']);
      run('ostree', [`--repo=${s}/ostree/repo`, 'config', 'set', 'core.add-remotes-config-dir', 'false']);
      step([`--sysroot=${s}`, 'remote', 'add', 'cfg', 'http://cfg']);
      step([`--sysroot=${s}`, 'remote', 'delete', 'phys']);
      const dir = `${s}/etc/ostree/remotes.d`;
      const files = existsSync(dir) ? readdirSync(dir).sort().map((f) => `${f}:\n${readFileSync(`${dir}/${f}`, 'utf8')}`) : [];
      trees[t] = [...out.map((l) => l.replaceAll(s, 'S')), readFileSync(`${s}/ostree/repo/config`, 'utf8'), ...files].join('\n');
    }
    expect(trees.xylem).toBe(trees.ostree);
    expect(trees.ostree).toContain('dep.conf');
  });

  it('remote refs / summary read the summary of a file:// remote', () => {
    const src = tmp.join('refs-src');
    run('ostree', [`--repo=${src}`, 'init', '--mode=archive']);
    mkdirSync(tmp.join('tree'));
    writeFileSync(tmp.join('tree', 'f'), 'x');
    for (const b of ['main', 'zeta/x', 'alpha', 'émoji']) run('ostree', [`--repo=${src}`, 'commit', '-b', b, `--tree=dir=${tmp.join('tree')}`]);
    const out: Record<Tool, string[]> = { ostree: [], xylem: [] };
    for (const t of TOOLS) {
      const repo = tmp.join(`refs-${t}`);
      run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      run(t, [`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', 'src', `file://${src}`]);
      run(t, [`--repo=${repo}`, 'remote', 'add', '--set=gpg-verify-summary=true', 'signed', `file://${src}`]);
      for (const sub of ['refs', 'summary']) {
        const r0 = tool(t, [`--repo=${repo}`, 'remote', sub, 'src']);
        out[t].push(`${r0.status} ${r0.stdout} ${errorLine(r0.stderr)}`);
      }
    }
    run('ostree', [`--repo=${src}`, 'summary', '-u']);
    for (const t of TOOLS) {
      const repo = tmp.join(`refs-${t}`);
      for (const name of ['src', 'signed', 'nosuch']) {
        const r = tool(t, [`--repo=${repo}`, 'remote', 'refs', name]);
        out[t].push(`${r.status} ${r.stdout} ${errorLine(r.stderr)}`);
      }
      for (const args of [['src'], ['--raw', 'src'], ['signed']]) {
        const r = tool(t, [`--repo=${repo}`, 'remote', 'summary', ...args]);
        out[t].push(`${r.status} ${r.stdout} ${errorLine(r.stderr)}`);
      }
    }
    expect(out.xylem).toEqual(out.ostree);
    expect(out.ostree[2]).toContain('src:émoji');
    expect(out.ostree[5]).toContain('* émoji');
  });

  it('gpg-import counts new keys like ostree and writes a keyring ostree can read', (ctx) => {
    requireInTest((n) => ctx.skip(n), 'gpg-import', { [`${GPGHOME}/key1.asc (ostree-tests)`]: existsSync(`${GPGHOME}/key1.asc`) });
    const keyring = `${GPGHOME}/trusted/pubring.gpg`;
    // TEST_GPG_KEYID_1..3 of the suite's libtest.sh (the keys in gpghome/trusted/pubring.gpg)
    const ids = ['7FCA23D8472CDAFA', 'D8228CFECA950D41', '0D15FAE7DF444D67'];
    const lines: Record<Tool, string[]> = { ostree: [], xylem: [] };
    const listings: Record<Tool, string> = { ostree: '', xylem: '' };
    for (const t of TOOLS) {
      const repo = tmp.join(`gpg-${t}`);
      run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      const step = (args: string[]): void => {
        const r = tool(t, [`--repo=${repo}`, ...args]);
        lines[t].push(`${r.status} ${r.stdout}${errorLine(r.stderr)}`);
      };
      step(['remote', 'add', 'R1', 'http://example.com/repo']);
      step(['remote', 'gpg-import', '--keyring', keyring, 'R1', ids[0]!]);
      step(['remote', 'gpg-import', '--keyring', keyring, 'R1', ids[1]!, ids[2]!]);
      step(['remote', 'gpg-import', '--keyring', keyring, 'R1', ids[0]!, ids[2]!]);
      step(['remote', 'gpg-import', '--keyring', keyring, 'R1', 'DEADBEEFDEADBEEF']);
      step(['remote', 'gpg-import', '--keyring', keyring, 'NOSUCH']);
      step(['remote', 'gpg-import', '--keyring', tmp.join('missing.gpg'), 'R1']);
      listings[t] = ok(ostree([`--repo=${repo}`, 'remote', 'gpg-list-keys', 'R1']), 'gpg-list-keys');
      step(['remote', 'delete', 'R1']);
      lines[t].push(String(existsSync(`${repo}/R1.trustedkeys.gpg`)));
      step(['remote', 'add', '--gpg-import', `${GPGHOME}/key1.asc`, 'R2', 'http://example.com/repo']);
      step(['remote', 'gpg-import', '--keyring', keyring, 'R2']);
      step(['remote', 'delete', 'R2']);
      step(['remote', 'add', 'R3', 'http://example.com/repo']);
      const multi = tmp.join(`multi-${t}.asc`);
      writeFileSync(multi, ['key1', 'key2', 'key3'].map((k) => readFileSync(`${GPGHOME}/${k}.asc`, 'utf8')).join(''));
      step(['remote', 'gpg-import', '--keyring', multi, 'R3']);
      step(['remote', 'gpg-list-keys', 'R3']);
      step(['remote', 'gpg-list-keys', 'NOSUCH']);
      step(['remote', 'add', `--set=gpgkeypath=${GPGHOME}/key2.asc,${GPGHOME}/key3.asc`, 'R4', 'http://example.com/repo']);
      step(['remote', 'gpg-list-keys', 'R4']);
      const saved = process.env.OSTREE_GPG_HOME;
      process.env.OSTREE_GPG_HOME = `${GPGHOME}/trusted`;
      try {
        step(['remote', 'gpg-list-keys']);
      } finally {
        if (saved === undefined) delete process.env.OSTREE_GPG_HOME;
        else process.env.OSTREE_GPG_HOME = saved;
      }
    }
    expect(lines.xylem).toEqual(lines.ostree);
    expect(lines.ostree[1]).toContain('Imported 1 GPG key to remote "R1"');
    // the real ostree lists the keys of our keyring exactly as those of its own
    expect(listings.xylem).toBe(listings.ostree);
    for (const id of ids) expect(listings.ostree).toContain(id);
  });
  it('cookie jars: add-cookie / delete-cookie / list-cookies write and print what ostree does', () => {
    const jars: Record<string, string> = {};
    const lists: Record<string, string> = {};
    for (const t of TOOLS) {
      const repo = tmp.join(`cookies-${t}`);
      run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      run(t, [`--repo=${repo}`, 'remote', 'add', '--set=gpg-verify=false', 'origin', 'http://127.0.0.1:1/repo']);
      run(t, [`--repo=${repo}`, 'remote', 'add-cookie', 'origin', '127.0.0.1', '/', 'foo', 'bar']);
      run(t, [`--repo=${repo}`, 'remote', 'add-cookie', 'origin', '.example.com', '/x', 'baz', 'badger']);
      run(t, [`--repo=${repo}`, 'remote', 'add-cookie', 'origin', '127.0.0.1', '/', 'gone', 'soon']);
      run(t, [`--repo=${repo}`, 'remote', 'delete-cookie', 'origin', '127.0.0.1', '/', 'gone']);
      const missing = tool(t, [`--repo=${repo}`, 'remote', 'delete-cookie', 'origin', '127.0.0.1', '/', 'never-there']);
      expect({ status: missing.status, error: errorLine(missing.stderr) }, t).toEqual({ status: 1, error: 'error: Cookie not found in jar' });
      // Expiry is "now + 25 years": compare everything but that field.
      jars[t] = readFileSync(join(repo, 'origin.cookies.txt'), 'utf8').replace(/\t\d+\t/g, '\tEXP\t');
      // ostree reads the jar for list-cookies relative to the working directory.
      lists[t] = run(t, [`--repo=${repo}`, 'remote', 'list-cookies', 'origin'], repo).replace(/^Expires: .*$/gm, 'Expires: X');
      expect(tool(t, [`--repo=${repo}`, 'remote', 'add-cookie', 'origin', 'a']).status, t).not.toBe(0);
    }
    expect(jars.xylem).toEqual(jars.ostree);
    expect(jars.ostree).toBe('127.0.0.1\tFALSE\t/\tFALSE\tEXP\tfoo\tbar\n.example.com\tTRUE\t/x\tFALSE\tEXP\tbaz\tbadger\n');
    expect(lists.xylem).toEqual(lists.ostree);
  });
});

describe('remotes: engine API', () => {
  const tmp = new TempDir('xylem-remotes-api-');
  const host = createNodeHost();
  afterAll(() => tmp.cleanup());

  it('validates remote names as ostree (Unicode word characters)', () => {
    for (const n of ['origin', 'a.b-c_d', 'é', '1x', '_x']) expect(isValidRemoteName(n), n).toBe(true);
    for (const n of ['', '-x', '.x', 'a b', 'a/b', 'a:b', 'a"b']) expect(isValidRemoteName(n), n).toBe(false);
  });

  it('reads options with defaults, lists and booleans; file:// names are pseudo-remotes', async () => {
    const repo = await Repo.init(host, tmp.join('api'), { mode: 'archive' });
    await addRemote(repo, 'r', 'http://r', { branches: ['a', 'b;c'], options: [['gpg-verify', false], ['x', ' sp']], collectionId: 'org.x.Y' });
    expect(await getRemoteUrl(repo, 'r')).toBe('http://r');
    expect(await remoteListOption(repo, 'r', 'branches')).toEqual(['a', 'b;c']);
    expect(await remoteListOption(repo, 'r', 'nope')).toBeNull();
    expect(await remoteOption(repo, 'r', 'x')).toBe(' sp');
    expect(await remoteOption(repo, 'r', 'collection-id')).toBe('org.x.Y');
    expect(await remoteOption(repo, 'r', 'missing', 'dflt')).toBe('dflt');
    expect(await remoteGpgVerify(repo, 'r')).toBe(false);
    expect(await remoteBooleanOption(repo, 'r', 'gpg-verify-summary', false)).toBe(false);
    expect(await remoteGpgVerify(repo, 'file:///srv/repo')).toBe(false);
    expect(await getRemoteUrl(repo, 'file:///srv/repo')).toBe('file:///srv/repo');
    await expect(remoteOption(repo, 'nosuch', 'url')).rejects.toThrow('Remote "nosuch" not found');
    await expect(getRemote(repo, 'nosuch')).rejects.toThrow('Remote "nosuch" not found');
    // the CLI reads what the API wrote exactly like ostree does
    expect(readFileSync(`${repo.path}/config`, 'utf8')).toContain('\nbranches=a;b\\;c;\n');
    expect(ok(ostree([`--repo=${repo.path}`, 'config', 'get', '--group=remote "r"', 'x']))).toBe(' sp\n');
    expect(await addRemote(repo, 'r', 'http://other', { ifNotExists: true })).toBe(false);
    expect(await deleteRemote(repo, 'r')).toBe(true);
    expect(await deleteRemote(repo, 'r', { ifExists: true })).toBe(false);
    expect(await listRemotes(repo)).toEqual([]);
  });

  it('remotes-config-dir: read from the dir, added there only with core.add-remotes-config-dir', async () => {
    // the scenario of ostree's test-remotes-config-dir.js
    const dir = tmp.join('remotes.d');
    mkdirSync(dir);
    writeFileSync(`${dir}/foo.conf`, '[remote "foo"]\nurl=http://foo\n');
    writeFileSync(`${dir}/ignored.txt`, '[remote "ignored"]\nurl=http://x\n');
    const repo = await Repo.init(host, tmp.join('cfgdir'), { mode: 'archive' });
    setRemoteScope(repo, { remotesConfigDir: dir });
    expect(await listRemotes(repo)).toEqual(['foo']);
    await addRemote(repo, 'bar', 'http://bar', { branches: ['test'] });
    expect(existsSync(`${dir}/bar.conf`)).toBe(false);
    await deleteRemote(repo, 'foo');
    expect(existsSync(`${dir}/foo.conf`)).toBe(false);
    repo.config.set('core', 'add-remotes-config-dir', 'true');
    await addRemote(repo, 'baz', 'http://baz', { branches: ['test'] });
    expect(readFileSync(`${dir}/baz.conf`, 'utf8')).toBe('[remote "baz"]\nurl=http://baz\nbranches=test;\n');
    await addRemote(repo, 'nonexistent', 'http://nonexistent', { force: true });
    expect(existsSync(`${dir}/nonexistent.conf`)).toBe(true);
    await addRemote(repo, 'baz', 'http://baz2', { force: true });
    expect(readFileSync(`${dir}/baz.conf`, 'utf8')).toBe('[remote "baz"]\nurl=http://baz2\n');
    await addRemote(repo, 'bar', 'http://bar2', { force: true });
    expect(repo.config.get('remote "bar"', 'url')).toBe('http://bar2');
    expect(repo.config.getStringList('remote "bar"', 'branches')).toBeUndefined();
    expect(await listRemotes(repo)).toEqual(['bar', 'baz', 'nonexistent']);
    // a config edit may not define a remote that lives in the dir (ostree_repo_write_config)
    const edited = KeyFile.parse(repo.config.toString());
    edited.setBoolean('remote "bar"', 'gpg-verify', false);
    await expect(checkConfigRemotes(repo, edited)).resolves.toBeUndefined();
    edited.setBoolean('remote "baz"', 'gpg-verify', false);
    await expect(checkConfigRemotes(repo, edited)).rejects.toThrow(`Remote "baz" already defined in ${dir}/baz.conf`);
    // the same remote in the config and the dir is an error, as in libostree
    writeFileSync(`${dir}/dup.conf`, '[remote "bar"]\nurl=http://dup\n');
    await expect(listRemotes(repo)).rejects.toThrow('Multiple specifications found for remote "bar"');
  });

  it('computes WKD URLs like ostree (vectors from test-remote-gpg-list-keys.sh)', async () => {
    expect(await wkdUrls('test@test.com')).toEqual({
      advanced: 'https://openpgpkey.test.com/.well-known/openpgpkey/test.com/hu/iffe93qcsgp4c8ncbb378rxjo6cn9q6u?l=test',
      direct: 'https://test.com/.well-known/openpgpkey/hu/iffe93qcsgp4c8ncbb378rxjo6cn9q6u?l=test',
    });
    expect((await wkdUrls('Test3@Test.com')).direct).toBe('https://Test.com/.well-known/openpgpkey/hu/8494gyqhmrcs6gn38tn6kgjexet117cj?l=Test3');
    await expect(wkdUrls('a@b@c')).rejects.toThrow('Invalid email address "a@b@c"');
  });

  it('fetches summaries through a pluggable fetcher', async () => {
    const repo = await Repo.init(host, tmp.join('fetch'), { mode: 'archive' });
    await addRemote(repo, 'web', 'https://example.com/repo/', { options: [['gpg-verify', false]] });
    const seen: string[] = [];
    const fetcher: RemoteFetcher = {
      async fetch(url) {
        seen.push(url);
        return null;
      },
    };
    expect(await fetchRemoteSummary(repo, 'web', fetcher)).toEqual({ summary: null, signatures: null });
    expect(seen).toEqual(['https://example.com/repo/summary', 'https://example.com/repo/summary.sig']);
    await addRemote(repo, 'old', 'ftp://example.com/repo/', { options: [['gpg-verify', false]] });
    await expect(fetchRemoteSummary(repo, 'old')).rejects.toThrow('Fetching ftp://example.com/repo/: URL scheme not supported yet');
    // A remote that wants its summary verified is never read without a verifier.
    await addRemote(repo, 'strict', 'https://example.com/repo/', { options: [['gpg-verify-summary', true]] });
    await expect(fetchRemoteSummary(repo, 'strict', fetcher)).rejects.toThrow('Summary verification is enabled for remote "strict", but no verifier was given');
    const checked: Array<[string, Uint8Array | null, Uint8Array | null]> = [];
    await fetchRemoteSummary(repo, 'strict', fetcher, async (r, s, sig) => void checked.push([r, s, sig]));
    expect(checked).toEqual([['strict', null, null]]);
  });

  it('picks the Cookie header for a URL from the remote jar (domain, path, secure, expiry)', async () => {
    const repo = await Repo.init(host, tmp.join('cookies'), { mode: 'archive' });
    await addRemoteCookie(repo, 'web', '127.0.0.1', '/', 'a', '1');
    await addRemoteCookie(repo, 'web', '.example.com', '/repo', 'b', '2');
    writeFileSync(join(repo.path, 'web.cookies.txt'), readFileSync(join(repo.path, 'web.cookies.txt'), 'utf8') + 'example.com\tFALSE\t/\tTRUE\t0\ts\t3\nexample.com\tFALSE\t/\tFALSE\t1\told\t4\njunk line\n');
    expect(await remoteCookieHeader(repo, 'web', 'http://127.0.0.1:8080/repo/summary')).toBe('a=1');
    expect(await remoteCookieHeader(repo, 'web', 'http://cdn.example.com/repo/x')).toBe('b=2');
    expect(await remoteCookieHeader(repo, 'web', 'https://example.com/repo/x')).toBe('b=2; s=3');
    expect(await remoteCookieHeader(repo, 'web', 'http://example.com/other')).toBeNull();
    expect(await deleteRemoteCookie(repo, 'web', '127.0.0.1', '/', 'a')).toBe(true);
    expect(await deleteRemoteCookie(repo, 'web', '127.0.0.1', '/', 'a')).toBe(false);
    expect((await listRemoteCookies(repo, 'web')).map((c) => c.name)).toEqual(['b', 's', 'old']);
    await expect(addRemoteCookie(repo, '../x', 'h', '/', 'n', 'v')).rejects.toThrow();
    await expect(addRemoteCookie(repo, 'web', 'h', '/', 'n', 'two words')).rejects.toThrow("Invalid cookie value 'two words'");
  });

  it('fetches http:// with the host fetch: 404 is absent, other errors and oversized bodies are refused', async () => {
    const http = await import('node:http');
    const server = http.createServer((req, res) => {
      if (req.url === '/big') return void res.end(Buffer.alloc(5000));
      if (req.url === '/fail') return void res.writeHead(500).end('no');
      if (req.url === '/ok') return void res.end('hello');
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
    try {
      const f = httpFetcher(fetch);
      expect(new TextDecoder().decode((await f.fetch(`${base}/ok`))!)).toBe('hello');
      expect(await f.fetch(`${base}/missing`)).toBeNull();
      await expect(f.fetch(`${base}/fail`)).rejects.toThrow(`While fetching ${base}/fail: Server returned HTTP 500`);
      await expect(f.fetch(`${base}/big`, { maxBytes: 4096 })).rejects.toThrow('larger than 4096 bytes');
    } finally {
      server.close();
    }
  });
});

// Lua scriptlets: the same package is installed by rpm itself (`rpm --root R -i --nodeps`, which
// runs its Lua in-process, chrooted) and run by runScripts in a root assembled from hardlinked
// payloads; the script's effects (files, modes, owners, links, what it printed and logged from
// posix.* / rpm.* / io / os) must be the same. Then the confinement: symlinks planted to escape the
// root lead nowhere outside it, hardlinked files are copied up, and what cannot run sandboxed is
// refused naming the package and script.

import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPosixFs } from '../../runtimes/posix/fs.ts';
import { createBwrapSandbox } from '../../runtimes/posix/sandbox.ts';
import { runScripts, type ScriptEvent } from '../../src/compose/scripts/index.ts';
import type { Host } from '../../src/host.ts';
import { buildRpm, HAVE_RPMBUILD } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { checkoutPackage, HAVE_BUSYBOX_STATIC, HAVE_BWRAP, HAVE_ROFILES, HAVE_RPM, IS_ROOT, makeBusyboxRoot, scriptPackageFromRpm, tempDir } from '../helpers/script-root.ts';

const host: Host = { fs: createPosixFs({}), sandbox: createBwrapSandbox(process.env) };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const LUA_POST = String.raw`
local out = {}
local function log(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  out[#out + 1] = table.concat(t, " ")
end
local D = "/usr/share/luafx"
print("hello from lua", arg[1], arg[2], math.type(arg[2]))
log("arg", #arg, arg[1], arg[2])
log("mkdir", posix.mkdir(D .. "/newdir"))
log("mkdir again", posix.mkdir(D .. "/newdir"))
log("mkdir nested missing", posix.mkdir(D .. "/no/such"))
log("access", posix.access(D .. "/data.txt"), posix.access(D .. "/missing"), posix.access(D .. "/data.txt", "x"))
log("symlink", posix.symlink("data.txt", D .. "/link"))
log("symlink exists", posix.symlink("data.txt", D .. "/link"))
log("readlink", posix.readlink(D .. "/link"), posix.readlink(D .. "/data.txt"))
log("stat", posix.stat(D .. "/data.txt", "mode"), posix.stat(D .. "/data.txt", "type"), posix.stat(D .. "/link", "type"), posix.stat(D .. "/data.txt", "size"), posix.stat(D, "type"))
log("stat missing", posix.stat(D .. "/missing"))
log("chmod", posix.chmod(D .. "/data.txt", "0640"), posix.stat(D .. "/data.txt", "mode"))
log("chmod symbolic", posix.chmod(D .. "/newdir", "u-w,g+s"), posix.stat(D .. "/newdir", "mode"))
log("chown", posix.chown(D .. "/data.txt", 1, 1), posix.stat(D .. "/data.txt", "uid"), posix.stat(D .. "/data.txt", "gid"))
log("utime", posix.utime(D .. "/data.txt", 1000000000, 1000000000), posix.stat(D .. "/data.txt", "mtime"))
local names = posix.dir(D)
table.sort(names)
log("dir", table.concat(names, ","))
for line in io.lines(D .. "/data.txt") do log("line", line) end
local f = assert(io.open(D .. "/written", "w"))
f:write("alpha\n", 42, "\n")
f:close()
local f2 = io.open(D .. "/written", "a")
f2:write("appended\n")
f2:close()
local f3 = io.open(D .. "/written", "r")
log("read line", f3:read("l"))
log("read number", f3:read("n"))
log("read rest", f3:read("a"))
f3:close()
local c = io.open("/etc/luafx.conf", "a")
c:write("lua was here\n")
c:close()
log("rename", os.rename(D .. "/written", D .. "/renamed"))
log("remove", os.remove(D .. "/newdir"))
log("remove missing", os.remove(D .. "/missing"))
log("io.open missing", io.open(D .. "/missing"))
log("rmdir nonempty", posix.rmdir(D))
log("unlink dir", posix.unlink(D))
rpm.define("luafx_val hello-%{?luafx_unset:x}world")
log("expand", rpm.expand("%{luafx_val} %{!?luafx_unset:unset} %{?luafx_val:set} %%"))
log("isdefined", rpm.isdefined("luafx_val"), rpm.isdefined("luafx_unset"))
log("vercmp", rpm.vercmp("1.0", "1.0"), rpm.vercmp("1.0~rc1", "1.0"), rpm.vercmp("1:1.0", "2.0"), rpm.vercmp("1.0-2", "1.0-10"), rpm.vercmp("1.0^git1", "1.0"), rpm.vercmp("a", "1"))
log("execute", rpm.execute("/bin/sh", "-c", "echo from-execute > " .. D .. "/exec.out"))
log("execute fail", rpm.execute("/bin/sh", "-c", "exit 3"))
log("os.execute", os.execute("test -f " .. D .. "/exec.out"))
local r = io.open(D .. "/result.txt", "w")
r:write(table.concat(out, "\n"), "\n")
r:close()
`;

interface Entry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  target?: string;
  content?: string;
  mtime?: number;
}

/** What a script could have changed under `paths` of a root. */
function snapshot(root: string, paths: string[]): Entry[] {
  const out: Entry[] = [];
  const visit = (rel: string): void => {
    const p = join(root, rel);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    const e: Entry = { path: rel, type: st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) e.target = readlinkSync(p);
    else if (st.isFile()) {
      e.content = readFileSync(p, 'utf8');
      if (rel.endsWith('data.txt')) e.mtime = Math.floor(st.mtimeMs / 1000);
    }
    out.push(e);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) visit(`${rel}/${n}`);
  };
  for (const p of paths) visit(p);
  return out;
}

describe.skipIf(missing('Lua scriptlets', { bwrap: HAVE_BWRAP, 'rofiles-fuse': HAVE_ROFILES, 'busybox-static': HAVE_BUSYBOX_STATIC, rpmbuild: HAVE_RPMBUILD, rpm: HAVE_RPM, root: IS_ROOT }))('Lua scriptlets', () => {
  it('do what rpm does: same files, modes, owners, links, output and logged results', async () => {
    const base = tempDir('lua-oracle');
    dirs.push(base);
    const rpmPath = buildRpm(
      {
        name: 'luafx',
        files: [
          { path: '/usr/share/luafx/data.txt', content: 'one\ntwo\n' },
          { path: '/etc/luafx.conf', content: 'conf\n', attr: '%config' },
        ],
        scripts: { 'post -p <lua>': LUA_POST },
      },
      join(base, 'rpms'),
    );
    // rpm itself, into a busybox root.
    const oracle = join(base, 'oracle');
    mkdirSync(oracle);
    makeBusyboxRoot(oracle);
    const rpmOut = execFileSync('rpm', ['--root', oracle, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', rpmPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

    // xylem, in a root assembled from hardlinked payloads.
    const root = join(base, 'root');
    const cache = join(base, 'cache');
    mkdirSync(root);
    makeBusyboxRoot(root, cache);
    checkoutPackage(rpmPath, cache, root);
    const events: ScriptEvent[] = [];
    await runScripts(host, { root, packages: [scriptPackageFromRpm(rpmPath)], onEvent: (e) => events.push(e) });

    const ours = readFileSync(join(root, 'usr/share/luafx/result.txt'), 'utf8');
    const theirs = readFileSync(join(oracle, 'usr/share/luafx/result.txt'), 'utf8');
    expect(ours).toBe(theirs);
    expect(snapshot(root, ['usr/share/luafx', 'etc/luafx.conf'])).toEqual(snapshot(oracle, ['usr/share/luafx', 'etc/luafx.conf']));
    const printed = events.filter((e) => e.type === 'output').map((e) => (e as { line: string }).line);
    expect(printed).toEqual(rpmOut.trim().split('\n').filter((l) => l.startsWith('hello from lua')).map((l) => `luafx.post: ${l}`));
    expect(printed).toHaveLength(1);
    // The hardlinked /etc file was copied up: the package cache still holds the packaged content.
    const cached = readdirSync(cache).find((d) => d.startsWith('luafx'))!;
    expect(readFileSync(join(cache, cached, 'etc/luafx.conf'), 'utf8')).toBe('conf\n');
    expect(statSync(join(cache, cached, 'usr/share/luafx/data.txt')).mode & 0o7777).toBe(0o644);
    expect(statSync(join(cache, cached, 'usr/share/luafx/data.txt')).uid).toBe(0);
  });

  it('confines posix.symlink escapes, `..` walks and absolute paths to the root', async () => {
    const base = tempDir('lua-escape');
    dirs.push(base);
    const outside = join(base, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'canary'), 'alive');
    const depth = '../'.repeat(20);
    const script = String.raw`
      local O = "${outside}"
      print("rel", posix.symlink("${depth}" .. O, "/usr/share/esc"))
      print("abs", posix.symlink(O, "/usr/share/esc2"))
      for _, p in ipairs({ "/usr/share/esc/canary", "/usr/share/esc2/canary", "/../../../../" .. O .. "/canary", "usr/share/../../../../" .. O .. "/canary" }) do
        local f, err = io.open(p, "w")
        if f then f:write("pwned") f:close() print("wrote", p) else print("refused", err) end
        print("chmod", posix.chmod(p, "0777"))
        print("remove", os.remove(p))
      end
      print("mkdir", posix.mkdir("/usr/share/esc/newdir"))
      print("stat", posix.stat("/usr/share/esc2/canary"))
      print("escape dir", posix.dir("/usr/share/esc2"))
    `;
    const root = join(base, 'root');
    mkdirSync(root);
    makeBusyboxRoot(root, join(base, 'cache'));
    const rpmPath = buildRpm({ name: 'escaper', files: [{ path: '/usr/share/escaper/f', content: 'x' }], scripts: { 'post -p <lua>': script } }, join(base, 'rpms'));
    checkoutPackage(rpmPath, join(base, 'cache'), root);
    const lines: string[] = [];
    await runScripts(host, { root, packages: [scriptPackageFromRpm(rpmPath)], onEvent: (e) => e.type === 'output' && lines.push(e.line) });
    expect(readFileSync(join(outside, 'canary'), 'utf8')).toBe('alive');
    expect(statSync(join(outside, 'canary')).mode & 0o777).toBe(0o644);
    expect(readdirSync(outside)).toEqual(['canary']);
    // Inside the root the links exist, but every path through them stays in the root (and fails).
    expect(readlinkSync(join(root, 'usr/share/esc2'))).toBe(outside);
    expect(lines.filter((l) => l.includes('wrote'))).toEqual([]);
    expect(lines.filter((l) => l.includes('refused'))).toHaveLength(4);
    expect(lines.some((l) => l.startsWith('escaper.post: stat\tnil\t') && l.includes('No such file or directory'))).toBe(true);
  });

  it('refuses what cannot run sandboxed, naming the package and script; a Lua error fails the transaction', async () => {
    const base = tempDir('lua-refuse');
    dirs.push(base);
    const root = join(base, 'root');
    mkdirSync(root);
    makeBusyboxRoot(root, join(base, 'cache'));
    const fork = buildRpm({ name: 'forker', files: [{ path: '/usr/share/forker/f', content: 'x' }], scripts: { 'post -p <lua>': 'local pid = posix.fork()' } }, join(base, 'rpms'));
    const err = buildRpm({ name: 'erring', files: [{ path: '/usr/share/erring/f', content: 'x' }], scripts: { 'posttrans -p <lua>': 'print("before")\nerror("deliberate failure")' } }, join(base, 'rpms'));
    const writesVar = buildRpm({ name: 'varwriter', files: [{ path: '/usr/share/varwriter/f', content: 'x' }], scripts: { 'post -p <lua>': 'print(io.open("/var/lib/varwriter.state", "w"))' } }, join(base, 'rpms'));
    for (const r of [fork, err, writesVar]) checkoutPackage(r, join(base, 'cache'), root);
    await expect(runScripts(host, { root, packages: [scriptPackageFromRpm(fork)] })).rejects.toThrow(/^Running %post for forker: lua script failed: .*posix\.fork\(\) is not supported in a sandboxed scriptlet/);
    const e = await runScripts(host, { root, packages: [scriptPackageFromRpm(err)] }).catch((x) => x);
    expect(e.message).toMatch(/^Running %posttrans for erring: lua script failed: \[string "%posttrans\(erring\)"\]:2: deliberate failure/);
    expect(e.output).toBe('erring.posttrans: before');
    // /var is read-only for Lua as for shell scripts.
    const lines: string[] = [];
    await runScripts(host, { root, packages: [scriptPackageFromRpm(writesVar)], onEvent: (ev) => ev.type === 'output' && lines.push(ev.line) });
    expect(lines).toEqual(['varwriter.post: nil\t/var/lib/varwriter.state: Read-only file system\t30']);
  });
});

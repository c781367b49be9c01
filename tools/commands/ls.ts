// `xylem ls REV [PATH…]`: list a commit's files like `ostree ls` (-R, -C, -X, -d, --nul-filenames-only).

import type { Command, CliContext } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { print } from '../../src/format/gvariant.ts';
import { isLnk, xattrsToGV, type Xattr } from '../../src/format/objects.ts';
import type { Repo } from '../../src/repo/repo.ts';
import { pathComponents } from '../../src/util/path.ts';
import { XylemError } from '../../src/util/errors.ts';

interface Opts {
  recursive: boolean;
  checksum: boolean;
  xattrs: boolean;
  nul: boolean;
}

function typeChar(mode: number): string {
  const t = mode & 0o170000;
  return t === 0o040000 ? 'd' : t === 0o120000 ? 'l' : t === 0o100000 ? '-' : '?';
}

function line(o: Opts, mode: number, uid: number, gid: number, size: number, csums: string[], xattrs: Xattr[], path: string, target?: string): string {
  if (o.nul) return path + '\0';
  let s = `${typeChar(mode)}0${(mode & 0o7777).toString(8).padStart(4, '0')} ${uid} ${gid} ${String(size).padStart(6)} `;
  if (o.checksum) s += csums.join(' ') + ' ';
  if (o.xattrs) s += '{ ' + print('a(ayay)', xattrsToGV(xattrs), { annotate: true }) + ' } ';
  s += path;
  if (target !== undefined) s += ` -> ${target}`;
  return s + '\n';
}

async function printFile(ctx: CliContext, repo: Repo, o: Opts, csum: string, path: string): Promise<void> {
  const f = await repo.loadFile(csum);
  const h = f.header;
  ctx.out(line(o, h.mode, h.uid, h.gid, f.size, [csum], h.xattrs, path, isLnk(h.mode) ? h.symlinkTarget : undefined));
}

async function printDirLine(ctx: CliContext, repo: Repo, o: Opts, tree: string, meta: string, path: string): Promise<void> {
  const m = await repo.loadDirMeta(meta);
  ctx.out(line(o, m.mode, m.uid, m.gid, 0, [tree, meta], m.xattrs, path));
}

async function listDir(ctx: CliContext, repo: Repo, o: Opts, tree: string, path: string): Promise<void> {
  const dt = await repo.loadDirTree(tree);
  const prefix = path === '/' ? '/' : path + '/';
  for (const f of dt.files) await printFile(ctx, repo, o, f.checksum, prefix + f.name);
  for (const d of dt.dirs) {
    await printDirLine(ctx, repo, o, d.treeChecksum, d.metaChecksum, prefix + d.name);
    if (o.recursive) await listDir(ctx, repo, o, d.treeChecksum, prefix + d.name);
  }
}

export const command: Command = {
  name: 'ls',
  summary: 'List file paths',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'dironly', short: 'd', kind: 'flag', description: 'List folders only' },
      { name: 'recursive', short: 'R', kind: 'flag', description: 'List folders recursively' },
      { name: 'checksum', short: 'C', kind: 'flag', description: 'Print checksums' },
      { name: 'xattrs', short: 'X', kind: 'flag', description: 'Print extended attributes' },
      { name: 'nul-filenames-only', kind: 'flag', description: 'Print only names, each ended by a NUL byte' },
    ]);
    const [rev, ...paths] = p.positionals;
    if (!rev) throw new UsageError('An COMMIT argument is required');
    const repo = await ctx.openRepo();
    const csum = (await resolveRev(repo, rev))!;
    const commit = await repo.loadCommit(csum);
    const o: Opts = { recursive: p.flag('recursive'), checksum: p.flag('checksum'), xattrs: p.flag('xattrs'), nul: p.flag('nul-filenames-only') };
    for (const path of paths.length ? paths : ['/']) {
      let tree = commit.rootTree;
      let meta = commit.rootMeta;
      const comps = pathComponents(path);
      let shown = '';
      let fileCsum: string | null = null;
      for (let i = 0; i < comps.length; i++) {
        const dt = await repo.loadDirTree(tree);
        const name = comps[i]!;
        shown += '/' + name;
        const d = dt.dirs.find((x) => x.name === name);
        if (d) {
          tree = d.treeChecksum;
          meta = d.metaChecksum;
          continue;
        }
        const f = dt.files.find((x) => x.name === name);
        if (f && i === comps.length - 1) {
          fileCsum = f.checksum;
          break;
        }
        if (f) throw new XylemError(`Inspecting path '${path}': Not a directory`);
        throw new XylemError(`Inspecting path '${path}': No such file or directory: ${shown}`);
      }
      const display = shown || '/';
      if (fileCsum) {
        await printFile(ctx, repo, o, fileCsum, display);
        continue;
      }
      await printDirLine(ctx, repo, o, tree, meta, display);
      if (!p.flag('dironly')) await listDir(ctx, repo, o, tree, display);
    }
    return 0;
  },
};

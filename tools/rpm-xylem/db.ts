// `rpm-xylem db diff | list | version`: rpm-ostree's package-database queries over commits of a
// repo (-r/--repo, default the sysroot's repo), answered from each commit's
// `rpmostree.rpmdb.pkglist`. Output as rpm-ostree's (see src/compose/dbdiff.ts).

import type { Host } from '../../src/host.ts';
import type { Parsed, OptionSpec } from '../cli/options.ts';
import { UsageError } from '../cli/context.ts';
import { Repo } from '../../src/repo/repo.ts';
import { dbDiff, dbList, commitPackages } from '../../src/compose/db.ts';
import { renderDiffBlock, renderDiffHeader, renderDiffJson, renderDiffLines } from '../../src/compose/dbdiff.ts';
import { rpmdbVersion } from '../../src/rpmdb/pkglist.ts';
import { commitChangelogs, renderDiffBlockWithChangelogs } from '../../src/compose/changelogs.ts';
import { formatNevra } from '../../src/rpm/types.ts';
import { joinPath } from '../../src/util/path.ts';

export interface SubEnv {
  host: Host;
  sysroot: string;
  p: Parsed;
  out(text: string): void;
  err(text: string): void;
}

export const DB_SPECS: OptionSpec[] = [
  { name: 'repo', short: 'r', kind: 'string', arg: 'PATH', description: 'Path to OSTree repository (defaults to the sysroot\'s)' },
  { name: 'format', short: 'F', kind: 'string', arg: 'FORMAT', description: 'Output format: "diff" or "json" or (default) "block"' },
  { name: 'changelogs', short: 'c', kind: 'flag', description: 'Also output RPM changelogs' },
  { name: 'advisories', short: 'a', kind: 'flag', description: 'Also output advisories' },
  { name: 'base', kind: 'flag', description: 'Diff against deployments\' base, not layered commits' },
];

export const DB_SUBCOMMANDS: Array<[string, string]> = [
  ['diff', 'Show package changes between two commits'],
  ['list', 'List packages within commits'],
  ['version', 'Show rpmdb version of packages within the commits'],
];

export async function runDb(e: SubEnv): Promise<number> {
  const [sub, ...args] = e.p.positionals;
  if (sub === undefined) throw new UsageError('No subcommand specified (diff, list, version)');
  const repoPath = e.p.value('repo') ?? joinPath(e.sysroot, 'ostree/repo');
  const repo = await Repo.open(e.host, repoPath);
  const sha = (d: Uint8Array) => {
    const h = repo.createSha256();
    h.update(d);
    return h.digest();
  };
  switch (sub) {
    case 'diff': {
      if (args.length !== 2) throw new UsageError('db diff needs FROM and TO commits (no booted deployment is consulted)');
      const format = e.p.value('format') ?? 'block';
      if (!['block', 'diff', 'json'].includes(format)) throw new UsageError(`Format argument is invalid, pick one of: diff, json, block`);
      const r = await dbDiff(repo, args[0]!, args[1]!);
      if (e.p.flag('changelogs')) {
        if (format !== 'block') throw new UsageError('--changelogs is only supported with the block format');
        const [a, b] = await Promise.all([commitChangelogs(e.host, repo, r.from.checksum), commitChangelogs(e.host, repo, r.to.checksum)]);
        e.out(renderDiffHeader(args[0]!, r.from.checksum, args[1]!, r.to.checksum) + renderDiffBlockWithChangelogs(r.diff, a, b));
        return 0;
      }
      if (format === 'json') e.out(renderDiffJson(r.from.checksum, r.to.checksum, r.diff));
      else if (format === 'diff') e.out(renderDiffHeader(args[0]!, r.from.checksum, args[1]!, r.to.checksum) + renderDiffLines(r.diff));
      else e.out(renderDiffHeader(args[0]!, r.from.checksum, args[1]!, r.to.checksum) + renderDiffBlock(r.diff));
      return 0;
    }
    case 'list': {
      if (args.length < 1) throw new UsageError('db list needs a REV');
      // rpm-ostree takes several revisions, then patterns; a token that resolves is a revision.
      const revs: string[] = [];
      const patterns: string[] = [];
      for (const a of args) {
        if (patterns.length === 0) {
          try {
            await commitPackages(repo, a);
            revs.push(a);
            continue;
          } catch (x) {
            if (revs.length === 0) throw x;
          }
        }
        patterns.push(a);
      }
      for (const rev of revs) {
        const l = await dbList(repo, rev, patterns);
        e.out(`ostree commit: ${rev} (${l.checksum})\n`);
        for (const p of l.packages) e.out(` ${formatNevra(p)}\n`);
      }
      return 0;
    }
    case 'version': {
      if (args.length < 1) throw new UsageError('db version needs a REV');
      for (const rev of args) {
        const c = await commitPackages(repo, rev);
        e.out(`ostree commit: ${rev} (${c.checksum})\n`);
        e.out(`  rpmdbv is: ${rpmdbVersion(c.packages, sha)}\n`);
      }
      return 0;
    }
    default:
      throw new UsageError(`Unknown "db" subcommand "${sub}"`);
  }
}

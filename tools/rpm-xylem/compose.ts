// `rpm-xylem compose tree`: rpm-ostree's server-side compose (unified core) — treefile, rpm-md
// repos from the `*.repo` files beside it, depsolve, package cache, assembly, postprocess, commit.
// Thin: the engine is src/compose; this file parses options and prints rpm-ostree's lines.

import type { OptionSpec } from '../cli/options.ts';
import { UsageError } from '../cli/context.ts';
import type { SubEnv } from './db.ts';
import { Repo } from '../../src/repo/repo.ts';
import { executeCompose, planCompose } from '../../src/compose/compose.ts';
import type { ComposeEvent } from '../../src/compose/events.ts';
import { rpmmdResolver } from '../../src/compose/resolve.ts';
import { composeServices } from '../../src/compose/services.ts';
import { loadTreefile, printTreefile } from '../../src/compose/treefile.ts';
import { MAX_LOCKFILE_BYTES, lockfileJson, mergeLockfiles, parseLockfile, type Lockfile } from '../../src/compose/lockfile.ts';
import { formatNevra } from '../../src/rpm/types.ts';
import { randomSuffix, writeFileAtomic } from '../../src/util/atomic-write.ts';
import { joinPath } from '../../src/util/path.ts';

export const COMPOSE_SPECS: OptionSpec[] = [
  { name: 'repo', short: 'r', kind: 'string', arg: 'REPO', description: 'Path to OSTree repository' },
  { name: 'cachedir', kind: 'string', arg: 'CACHEDIR', description: 'Cached state' },
  { name: 'dry-run', kind: 'flag', description: 'Just print the transaction and exit' },
  { name: 'print-only', kind: 'flag', description: 'Just expand any includes and print treefile' },
  { name: 'force-nocache', kind: 'flag', description: 'Always create a new OSTree commit, even if nothing appears to have changed' },
  { name: 'unified-core', kind: 'flag', description: 'Use new "unified core" codepath (always on in rpm-xylem)' },
  { name: 'cache-only', short: 'C', kind: 'flag', description: 'Assume cache is present, do not attempt to update it' },
  { name: 'ex-lockfile', kind: 'strings', arg: 'FILE', description: 'JSON-formatted lockfile; can be specified multiple times' },
  { name: 'ex-lockfile-strict', kind: 'flag', description: 'Only allow installing locked packages when using lockfiles' },
  { name: 'ex-write-lockfile-to', kind: 'string', arg: 'FILE', description: 'Write lockfile to FILE' },
  { name: 'basearch', kind: 'string', arg: 'ARCH', description: 'Architecture to compose for (default x86_64)', hidden: true },
];

export const COMPOSE_SUBCOMMANDS: Array<[string, string]> = [['tree', 'Process a "treefile"; install packages and commit the result to an OSTree repository']];

function absolute(p: string, cwd: string): string {
  return p.startsWith('/') ? p : joinPath(cwd, p);
}

export async function runCompose(e: SubEnv & { cwd?: string }): Promise<number> {
  const [sub, ...args] = e.p.positionals;
  if (sub !== 'tree') throw new UsageError(sub === undefined ? 'No subcommand specified (tree)' : `Unknown "compose" subcommand "${sub}"`);
  if (args.length !== 1) throw new UsageError('TREEFILE must be specified');
  const cwd = e.cwd ?? '.';
  const treefilePath = absolute(args[0]!, cwd);
  const host = e.host;
  const tf = await loadTreefile(host.fs, treefilePath, { basearch: e.p.value('basearch') ?? 'x86_64' });
  if (e.p.flag('print-only')) {
    e.out(printTreefile(tf));
    return 0;
  }
  const repoPath = e.p.value('repo');
  if (!repoPath) throw new UsageError('--repo must be specified');
  const repo = await Repo.open(host, absolute(repoPath, cwd));
  const cacheDir = e.p.value('cachedir') ? absolute(e.p.value('cachedir')!, cwd) : joinPath(repo.path, 'tmp/rpm-xylem-cache');
  await host.fs.mkdir(cacheDir, { recursive: true, mode: 0o755 });
  // Without --cachedir a bare repo caches packages itself (as rpm-ostree's legacy mode).
  const cache = !e.p.value('cachedir') && (repo.mode === 'bare' || repo.mode === 'bare-user') ? repo : await Repo.init(host, joinPath(cacheDir, 'pkgcache-repo'), { mode: 'bare-user' });
  const line = (s: string) => e.out(`${s}\n`);
  line(`Enabled rpm-md repositories: ${tf.repos.join(' ')}`);
  const lockPaths = e.p.list('ex-lockfile').map((p) => absolute(p, cwd));
  let lockfile: Lockfile | undefined;
  if (lockPaths.length > 0) {
    const files = [];
    for (const p of lockPaths) {
      const st = await host.fs.stat(p);
      if (!st || st.kind !== 'file') throw new UsageError(`--ex-lockfile: ${p}: not a file`);
      if (st.size > MAX_LOCKFILE_BYTES) throw new UsageError(`--ex-lockfile: ${p}: too large`);
      files.push(parseLockfile(new TextDecoder().decode(await host.fs.readFile(p)), p));
    }
    lockfile = mergeLockfiles(files, e.p.flag('ex-lockfile-strict'));
  } else if (e.p.flag('ex-lockfile-strict')) throw new UsageError('--ex-lockfile-strict requires --ex-lockfile');
  const resolver = rpmmdResolver(host, { treefilePath, cacheDir, cacheOnly: e.p.flag('cache-only'), ...(lockfile ? { lockfile } : {}), onWarning: (l) => e.err(`${l}\n`) });
  const resolution = await resolver.resolve(tf);
  const writeLock = e.p.value('ex-write-lockfile-to');
  if (writeLock) {
    await writeFileAtomic(host.fs, absolute(writeLock, cwd), new TextEncoder().encode(lockfileJson(resolution, Math.floor(Date.now() / 1000))));
  }
  for (const r of resolution.repos) line(`rpm-md repo '${r.id}'; generated: ${new Date(Number(r.timestamp) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
  line('Resolving dependencies... done');
  const plan = await planCompose(repo, cache, tf, resolution, { sha256: () => repo.createSha256(), forceNocache: e.p.flag('force-nocache') });
  line(`Installing ${plan.packages.length} packages:`);
  for (const p of plan.packages) line(`  ${formatNevra(p.nevra)} (${p.repoId})`);
  line(`Input state hash: ${plan.inputHash}`);
  if (e.p.flag('dry-run')) {
    line('--dry-run complete; exiting');
    return 0;
  }
  if (plan.unchanged) {
    line('No apparent changes since previous commit; use --force-nocache to override');
    return 0;
  }
  const toImport = plan.packages.filter((p) => p.action === 'import').length;
  const emit = (ev: ComposeEvent) => {
    if (ev.type === 'phase' && ev.phase === 'import' && toImport > 0) line(`Importing packages (${toImport})...`);
    else if (ev.type === 'phase' && ev.phase === 'checkout') line('Checking out packages...');
    else if (ev.type === 'phase' && ev.phase === 'scripts') line('Running scripts...');
    else if (ev.type === 'phase' && ev.phase === 'rpmdb') line('Writing rpmdb...');
    else if (ev.type === 'phase' && ev.phase === 'commit') line('Writing OSTree commit...');
    else if (ev.type === 'message') line(ev.text);
    else if (ev.type === 'skipped') e.err(`warning: ${ev.step} skipped: ${ev.reason}\n`);
  };
  const workdir = joinPath(cacheDir, `rpm-xylem-compose-${randomSuffix()}`);
  // rpmdb-normalize: install times from SOURCE_DATE_EPOCH (upstream leaves the db alone without it).
  const sde = host.env?.SOURCE_DATE_EPOCH;
  const installTime = tf.rpmdbNormalize && sde !== undefined && /^\d+$/.test(sde) ? Number(sde) : undefined;
  const r = await executeCompose(repo, cache, tf, resolution, plan, { workdir, services: composeServices(host, installTime !== undefined ? { installTime } : {}), emit });
  if (plan.version !== null) line(`Version: ${plan.version}`);
  line(`${plan.ref} => ${r.commit}`);
  return 0;
}

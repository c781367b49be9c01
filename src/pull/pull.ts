// `ostree pull`: pulling refs or commits of a configured remote (or a file:// URL) into a repo.
// plan.ts works out what to fetch, from where and under which signature policy (resolving the
// remote, its summary and refs, and the static deltas to use); this module carries the plan out:
// ostree's dry runs, timestamp checks, the signature check of every commit before it is stored,
// the shared traversal (engine.ts) over HTTP or straight from a local repository, and the refs,
// which move only after every object is written.

import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { ObjectType, isValidChecksum, objectRelPath, type Commit } from '../format/objects.ts';
import { resolveRev } from '../repo/refs.ts';
import { fromUtf8Lossy } from '../util/bytes.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import type { TransactionStats } from '../repo/transaction.ts';
import { joinUrl } from './fetcher.ts';
import { PullEngine, PULL_MAX_METADATA_SIZE, type CommitMetadata, type ObjectSource } from './engine.ts';
import { HttpObjectSource } from './source-http.ts';
import { LocalRepoSource } from './source-local.ts';
import { PullWriter } from './writer.ts';
import { emptyProgress, formatPullStatus } from './progress.ts';
import { formatSize } from '../util/format-size.ts';
import { estimatePull } from './dry-run.ts';
import { superblockKey } from '../delta/paths.ts';
import { applyPulledDelta } from '../delta/source.ts';
import { formatCTime } from './time.ts';
import { withRepoLock } from '../repo/lock.ts';
import { planPull } from './plan.ts';
import type { DryRunItem, PullOptions, PullResult, PulledRef } from './options.ts';
import { readFileOptional } from '../util/read-optional.ts';

/**
 * Pulls from `remote` (a configured remote name or a file:// URL) into `repo`, holding the repo
 * lock shared throughout (its batches publish objects no ref reaches yet: prune must wait).
 */
export async function pull(repo: Repo, remote: string, opts: PullOptions = {}): Promise<PullResult> {
  return withRepoLock(repo, 'shared', () => pullLocked(repo, remote, opts));
}

async function pullLocked(repo: Repo, remote: string, opts: PullOptions): Promise<PullResult> {
  if (typeof remote !== 'string' || remote === '') throw new XylemError('REMOTE must be specified');
  if (typeof opts !== 'object' || opts === null) throw new TypeError('pull: options must be an object');
  const depth = opts.depth ?? 0;
  if (!Number.isInteger(depth) || depth < -1) throw new XylemError(`Invalid depth ${depth}`);
  if (opts.requireStaticDeltas && opts.disableStaticDeltas)
    throw new XylemError('Cannot use --require-static-deltas and --disable-static-deltas together');
  const now = repo.host.now ?? Date.now;
  const progress = emptyProgress(now());
  const freq = opts.updateFrequencyMs && opts.updateFrequencyMs > 0 ? opts.updateFrequencyMs : 1000;
  let lastEmit = 0;
  const emit = (force = false) => {
    if (!opts.onProgress) return;
    const t = now();
    if (!force && t - lastEmit < freq) return;
    lastEmit = t;
    opts.onProgress({ ...progress });
  };


  const plan = await planPull(repo, remote, opts, progress, emit);
  const { remote: r, fetcher, localSrc, summary, summarySig, mirrorAll, targets, refTargets, skipScan, deltaTotals, deltaFetch } = plan;
  const plannedDeltas = plan.deltas;

  // ostree's dry run: what the deltas would transfer, nothing written.
  if (opts.dryRun && opts.requireStaticDeltas) {
    progress.phase = 'done';
    progress.status = `Delta update: ${deltaTotals.fetchedParts}/${deltaTotals.parts} parts, ${formatSize(deltaTotals.fetchedSize)}/${formatSize(deltaTotals.size)}, ${formatSize(deltaTotals.usize)} total uncompressed`;
    return {
      refs: [],
      progress,
      stats: { metadataObjectsTotal: 0, metadataObjectsWritten: 0, contentObjectsTotal: 0, contentObjectsWritten: 0, contentBytesWritten: 0 },
      status: progress.status,
      dryRun: [],
      deltaSizes: deltaTotals,
    };
  }
  const refRemote = opts.mirror ? null : (opts.overrideRemoteName ?? r.name);

  // Timestamp checks compare with the ref's current commit (or --timestamp-check-from-rev).
  const originals = new Map<string, string | null>();
  if (opts.timestampCheck) {
    for (const t of refTargets) {
      let cur = r.name ? await resolveRev(repo, `${r.name}:${t.ref}`, true) : null;
      cur ??= await resolveRev(repo, t.ref, true);
      originals.set(t.ref, cur);
    }
  }
  const fromRev = opts.timestampCheckFromRev ? await resolveRev(repo, opts.timestampCheckFromRev) : null;
  const checkCommit = async (csum: string, commit: Commit, ref: string | null): Promise<void> => {
    const compare = async (cur: string, what: string) => {
      let c: Commit;
      try {
        c = await repo.loadCommit(cur);
      } catch (e) {
        throw new XylemError(`Reading ${what}: ${(e as Error).message}`);
      }
      if (commit.timestamp > c.timestamp || commit.timestamp === c.timestamp || cur === csum) return;
      throw new XylemError(
        `Upgrade target revision '${csum}' with timestamp '${formatCTime(commit.timestamp)}' is chronologically older than current revision '${cur}' with timestamp '${formatCTime(c.timestamp)}'; use --allow-downgrade to permit`,
      );
    };
    if (opts.timestampCheck && ref !== null) {
      const cur = originals.get(ref);
      if (cur) await compare(cur, `${ref} for timestamp-check`);
    }
    if (fromRev) await compare(fromRev, `${fromRev} for timestamp-check-from-rev`);
  };

  if (opts.dryRun) {
    const items: DryRunItem[] = [];
    for (const t of targets) {
      const size = refTargets.find((x) => x.ref === t.ref && x.checksum === t.checksum)?.size ?? null;
      const present = (await repo.hasObject(t.checksum, ObjectType.Commit)) && !(await repo.isCommitPartial(t.checksum));
      items.push({ ref: t.ref, checksum: t.checksum, commitSize: size, present });
    }
    const dryBase = localSrc ? null : r.contentUrl;
    const estimate = await estimatePull(
      repo,
      {
        getMetadata: localSrc
          ? (type, csum, optional) => new LocalRepoSource(localSrc!, { trusted: true, bareuseronlyFiles: false }).getMetadata(type, csum, optional)
          : (type, csum, optional) =>
              fetcher.get({ url: joinUrl(dryBase!, objectRelPath(csum, type, 'archive')), optional, maxBytes: PULL_MAX_METADATA_SIZE }),
        contentSize: localSrc
          ? async (csum) => (await localSrc!.fs.lstat(localSrc!.objectPath(csum, ObjectType.File)))?.size ?? null
          : (csum) => fetcher.size(joinUrl(dryBase!, objectRelPath(csum, ObjectType.File, 'archive'))),
      },
      targets.map((t) => t.checksum),
      { depth, commitOnly: !!opts.commitMetadataOnly },
    );
    progress.phase = 'done';
    const lines = items.map((i) => `${i.ref ?? i.checksum}: ${i.checksum}${i.present ? ' (complete locally)' : ''}`);
    lines.push(
      `Would fetch ${estimate.metadataObjects} metadata objects (${formatSize(estimate.metadataBytes)}) and ${estimate.contentObjects} content objects (${formatSize(estimate.contentBytes)}${estimate.unknownSizes ? `, ${estimate.unknownSizes} of unknown size` : ''})`,
    );
    progress.status = lines.join('\n');
    return {
      refs: [],
      progress,
      stats: { metadataObjectsTotal: 0, metadataObjectsWritten: 0, contentObjectsTotal: 0, contentObjectsWritten: 0, contentBytesWritten: 0 },
      status: progress.status,
      dryRun: items,
      estimate,
    };
  }

  // --- signatures ----------------------------------------------------------------------------
  // The remote's policy (built in resolveRemote from its configuration), then the caller's extra
  // check: every commit is judged before anything of it is written.
  let verifyCommit: ((c: string, b: Uint8Array, m: CommitMetadata | null) => Promise<void>) | undefined;
  if (r.trust.remote !== null && (r.trust.verifiesCommits || opts.verifyCommit)) {
    const name = r.trust.remote;
    const hook = opts.verifyCommit;
    verifyCommit = async (c, b, m) => {
      await r.trust.verifyCommit(c, b, m);
      if (hook) await hook(name, c, b, m);
    };
  }

  // --- fetch objects -------------------------------------------------------------------------
  progress.phase = 'fetching';
  await repo.fs.mkdir(joinPath(repo.path, 'state'), { recursive: true });
  const bareuseronlyFiles = !!opts.bareuseronlyFiles;
  let source: ObjectSource;
  if (localSrc) source = new LocalRepoSource(localSrc, { trusted: !opts.untrusted, bareuseronlyFiles });
  else {
    const trustedDirect = !!opts.httpTrusted && !opts.untrusted && !!opts.mirror && repo.mode === 'archive';
    source = new HttpObjectSource({
      metaUrl: r.metaUrl,
      contentUrl: r.contentUrl,
      fetcher,
      dest: repo,
      ingest: { verify: !trustedDirect, bareuseronlyFiles },
    });
  }
  const caches = (opts.localCacheRepos ?? []).map((c) => new LocalRepoSource(c, { trusted: false, bareuseronlyFiles }));
  const writer = new PullWriter(repo);
  const engine = new PullEngine(repo, writer, source, {
    depth,
    commitOnly: !!opts.commitMetadataOnly,
    subpaths: opts.subpaths,
    bareuseronlyFiles,
    verifyCommit,
    refreshCommitMeta: true, // as ostree: a stored commit's detached metadata is always re-fetched (new signatures)
    verifyBindings: !opts.disableVerifyBindings,
    localCaches: caches,
    checkCommit: opts.timestampCheck || fromRev ? checkCommit : undefined,
    progress,
    onProgress: () => {
      progress.outstandingWrites = writer.outstandingWrites;
      progress.outstandingFetches = Math.max(progress.outstandingFetches, 0);
      emit();
    },
  });
  const pulled: PulledRef[] = [];
  let stats: TransactionStats;
  const deltaStats: TransactionStats[] = [];
  try {
    for (const d of plannedDeltas) {
      // As ostree, the commit a delta carries is verified before anything of it is written.
      const sb = d.superblock;
      if (verifyCommit) {
        const detached = sb.metadata.find(([k]) => k === superblockKey(sb.from, sb.to, 'commitmeta'))?.[1];
        await verifyCommit(sb.to, sb.commitBytes, detached && detached.type === 'a{sv}' ? (detached.value as CommitMetadata) : null);
      }
      deltaStats.push(await applyPulledDelta(repo, deltaFetch, sb));
      progress.fetchedDeltaParts = progress.totalDeltaParts;
      progress.fetchedDeltaPartSize = progress.totalDeltaPartSize;
      emit();
    }
    await Promise.all(targets.filter((t) => !skipScan.has(t)).map((t) => engine.pullTarget(t)));
    for (const t of refTargets) {
      const previous = await readRef(repo, refRemote, t.ref);
      pulled.push({ remote: refRemote, ref: t.ref, checksum: t.checksum, previous });
      if (previous !== t.checksum) writer.setRef(refRemote, t.ref, t.checksum);
    }
    stats = await writer.finish();
    for (const d of deltaStats) {
      stats.metadataObjectsTotal += d.metadataObjectsTotal;
      stats.metadataObjectsWritten += d.metadataObjectsWritten;
      stats.contentObjectsTotal += d.contentObjectsTotal;
      stats.contentObjectsWritten += d.contentObjectsWritten;
      stats.contentBytesWritten += d.contentBytesWritten;
    }
  } catch (e) {
    progress.caughtError = true;
    engine.cancel();
    fetcher.cancel();
    await writer.abort();
    throw e;
  }
  await engine.clearCompletedMarks();
  if (mirrorAll && summary) {
    await writeFileAtomic(repo.fs, joinPath(repo.path, 'summary'), summary.bytes, { fsync: repo.fsyncEnabled });
    if (summarySig) await writeFileAtomic(repo.fs, joinPath(repo.path, 'summary.sig'), summarySig, { fsync: repo.fsyncEnabled });
  }
  progress.phase = 'done';
  progress.outstandingFetches = 0;
  progress.outstandingWrites = 0;
  progress.status = formatPullStatus(progress, {
    local: source.local,
    contentBytesWritten: stats.contentBytesWritten,
    elapsedSeconds: (now() - progress.startTime) / 1000,
  });
  emit(true);
  return { refs: pulled, progress, stats, status: progress.status };
}

async function readRef(repo: Repo, remote: string | null, ref: string): Promise<string | null> {
  const p = remote === null ? joinPath(repo.path, 'refs/heads', ref) : joinPath(repo.path, 'refs/remotes', remote, ref);
  const b = await readFileOptional(repo.fs, p);
  if (!b) return null;
  const s = fromUtf8Lossy(b).trim();
  return isValidChecksum(s) ? s : null;
}


// `xylem commit`: write a new commit from directories, existing trees or tarballs (ostree commit).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { Transaction } from '../../src/repo/transaction.ts';
import { MutableTree } from '../../src/repo/mutable-tree.ts';
import {
  importDirectory,
  importCommitTree,
  importCommitTreeModified,
  makeImportContext,
  writeCommit,
  scanDevinoCache,
  bootableMetadata,
  type CommitModifier,
} from '../../src/repo/commit.ts';
import { S_IFMT, S_IFREG, encodeCommit } from '../../src/format/objects.ts';
import { parseRefspec, resolveRev } from '../../src/repo/refs.ts';
import { parseTimestamp, sourceDateEpoch } from '../../src/repo/timestamp.ts';
import { encode, parseText, type GVVariant } from '../../src/format/gvariant.ts';
import { XylemError, errnoCode } from '../../src/util/errors.ts';
import type { Host } from '../../src/host.ts';
import { fromUtf8 } from '../../src/util/bytes.ts';
import { signNewCommit, type CommitSigningOptions } from '../cli/commit-signing.ts';
import { loadPolicyFromCommit, loadPolicyFromDirectory, type SePolicy } from '../../src/selinux/policy.ts';

function parseKeyValue(s: string, allowEmptyKey = false): [string, string] {
  const i = s.indexOf('=');
  if (i < 0) throw new UsageError(`Missing '=' in KEY=VALUE metadata '${s}'`);
  if (i === 0 && !allowEmptyKey) throw new UsageError('Empty metadata key');
  return [s.slice(0, i), s.slice(i + 1)];
}

/** Reads a list file named by an option, with ostree's error for a missing one. */
async function readTextFile(host: Host, path: string): Promise<string> {
  try {
    return fromUtf8(await host.fs.readFile(path));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new XylemError(`openat(${path}): No such file or directory`);
    throw e;
  }
}

/**
 * A --statoverride file: lines `MODE PATH`; `=MODE` replaces the permission bits, otherwise
 * (`MODE` or `+MODE`) they are or'ed in. Modes are decimal, as ostree reads them (strtoul base 10).
 */
function parseStatOverride(text: string): { adds: Map<string, number>; sets: Map<string, number> } {
  const adds = new Map<string, number>();
  const sets = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const sp = line.indexOf(' ');
    if (sp < 0) throw new XylemError('Malformed statoverride file (no space found)');
    const path = line.slice(sp + 1);
    const set = line.startsWith('=');
    const mode = Number.parseInt(line.slice(set ? 1 : 0, sp), 10) >>> 0;
    (set ? sets : adds).set(path, Number.isNaN(mode) ? 0 : mode);
  }
  return { adds, sets };
}

export const command: Command = {
  name: 'commit',
  summary: 'Commit a new revision',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'subject', short: 's', kind: 'string', arg: 'SUBJECT', description: 'One-line subject' },
      { name: 'body', short: 'm', kind: 'string', arg: 'BODY', description: 'Full description' },
      { name: 'body-file', short: 'F', kind: 'string', arg: 'FILE', description: 'Read the description from FILE' },
      { name: 'branch', short: 'b', kind: 'string', arg: 'BRANCH', description: 'Branch (ref) to point at the new commit' },
      { name: 'parent', kind: 'string', arg: 'COMMIT', description: 'Parent commit, or "none"' },
      { name: 'orphan', kind: 'flag', description: 'Write a commit without a ref' },
      { name: 'tree', kind: 'strings', arg: 'TYPE=ARG', description: 'Lay this tree over the result: dir=PATH, tar=TARFILE or ref=COMMIT (repeatable)' },
      { name: 'add-metadata-string', kind: 'strings', arg: 'KEY=VALUE', description: 'Add KEY=VALUE string metadata' },
      { name: 'add-metadata', kind: 'strings', arg: 'KEY=VALUE', description: 'Add KEY=VALUE metadata, VALUE in GVariant text format' },
      { name: 'keep-metadata', kind: 'strings', arg: 'KEY', description: 'Copy metadata KEY from the parent commit' },
      { name: 'add-detached-metadata-string', kind: 'strings', arg: 'KEY=VALUE', description: 'Add KEY=VALUE string detached metadata' },
      { name: 'timestamp', kind: 'string', arg: 'TIMESTAMP', description: 'Commit time (default: now, or SOURCE_DATE_EPOCH)' },
      { name: 'owner-uid', kind: 'string', arg: 'UID', description: 'Give every file this user id' },
      { name: 'owner-gid', kind: 'string', arg: 'GID', description: 'Give every file this group id' },
      { name: 'canonical-permissions', kind: 'flag', description: 'Store uid/gid 0 and only the permission bits bare-user keeps' },
      { name: 'skip-if-unchanged', kind: 'flag', description: 'Do nothing if the tree equals the parent commit\'s' },
      { name: 'link-checkout-speedup', kind: 'flag', description: 'Reuse objects of files hardlinked from this repository' },
      { name: 'no-xattrs', kind: 'flag', description: 'Do not import extended attributes' },
      { name: 'bootable', kind: 'flag', description: 'Mark the commit bootable (it holds a kernel)' },
      { name: 'table-output', kind: 'flag', description: 'Print statistics as KEY: VALUE lines' },
      { name: 'fsync', kind: 'string', arg: 'POLICY', description: 'Whether to fsync writes: true or false' },
      { name: 'disable-fsync', kind: 'flag', description: 'Do not fsync writes (fast, unsafe on a crash)' },
      { name: 'editor', short: 'e', kind: 'flag', description: 'Write the message in an editor' },
      { name: 'no-bindings', kind: 'flag', description: 'Do not bind the commit to its refs' },
      { name: 'bind-ref', kind: 'strings', arg: 'BRANCH', description: 'Bind the commit to this ref too (repeatable)' },
      { name: 'consume', kind: 'flag', description: 'Delete the imported local files after the commit' },
      { name: 'devino-canonical', short: 'I', kind: 'flag', description: 'Trust hardlinks into the repository as unmodified (implies --link-checkout-speedup)' },
      { name: 'generate-sizes', kind: 'flag', description: 'Record object sizes in the commit metadata' },
      { name: 'mode-ro-executables', kind: 'flag', description: 'Remove write permission from executable files' },
      { name: 'selinux-policy', kind: 'string', arg: 'PATH', description: 'Label files from the SELinux policy of the root filesystem PATH (may be /)' },
      { name: 'selinux-policy-from-base', short: 'P', kind: 'flag', description: 'Label files from the SELinux policy of --base, or else of the first --tree' },
      { name: 'selinux-labeling-epoch', kind: 'string', arg: 'N', description: 'SELinux labeling rules: 0 (default), 1 labels /usr/etc as /etc' },
      { name: 'statoverride', kind: 'string', arg: 'FILE', description: 'Change permissions as listed in FILE (MODE PATH lines)' },
      { name: 'skip-list', kind: 'string', arg: 'FILE', description: 'Skip the paths listed in FILE' },
      { name: 'base', kind: 'string', arg: 'REV', description: 'Start from this commit\'s tree (no modifiers apply to it)' },
      { name: 'gpg-sign', kind: 'strings', arg: 'KEY-ID', description: 'Sign the commit with this GnuPG key (repeatable)' },
      { name: 'gpg-homedir', kind: 'string', arg: 'HOMEDIR', description: 'GnuPG home folder to find keyrings in' },
      { name: 'sign', kind: 'strings', arg: 'KEY', description: 'Sign the commit with this secret key (repeatable)' },
      { name: 'sign-type', kind: 'string', arg: 'NAME', description: 'Signature scheme (default: ed25519)' },
    ]);
    const branch = p.value('branch') ?? null;
    if (branch) parseRefspec(branch);
    const orphan = p.flag('orphan');
    if (!branch && !orphan) throw new UsageError('A branch must be specified with --branch, or use --orphan');
    const signing: CommitSigningOptions = {
      gpgSign: p.list('gpg-sign'),
      gpgHomedir: p.value('gpg-homedir'),
      sign: p.list('sign'),
      signType: p.value('sign-type'),
    };
    const repo = await ctx.openRepo();
    if (p.flag('disable-fsync') || p.value('fsync') === 'false') repo.config.set('core', 'fsync', 'false');

    let timestamp: bigint;
    const ts = p.value('timestamp');
    if (ts !== undefined) timestamp = parseTimestamp(ts);
    else timestamp = sourceDateEpoch(ctx.env) ?? BigInt(Math.floor(Date.now() / 1000));

    let body = p.value('body') ?? '';
    const bodyFile = p.value('body-file');
    if (bodyFile !== undefined) body = fromUtf8(await ctx.host.fs.readFile(bodyFile));

    const modifier: CommitModifier = {};
    const ou = p.value('owner-uid');
    const og = p.value('owner-gid');
    if (ou !== undefined) modifier.ownerUid = Number(ou);
    if (og !== undefined) modifier.ownerGid = Number(og);
    if (p.flag('canonical-permissions')) {
      if (ou !== undefined && Number(ou) !== 0) throw new UsageError('Cannot specify both --canonical-permissions and non-zero --owner-uid');
      if (og !== undefined && Number(og) !== 0) throw new UsageError('Cannot specify both --canonical-permissions and non-zero --owner-gid');
      modifier.canonicalPermissions = true;
    }
    if (p.flag('no-xattrs')) modifier.skipXattrs = true;
    if (p.flag('consume')) modifier.consume = true;
    if (p.flag('devino-canonical')) modifier.devinoCanonical = true;
    // SELinux labelling, as ostree: a policy that is not enabled (SELINUX=disabled, no config)
    // labels nothing, but still makes a modifier (so --tree=ref= trees are walked).
    const sePolicyDir = p.value('selinux-policy');
    let seFromBase = p.flag('selinux-policy-from-base');
    if (sePolicyDir !== undefined && seFromBase) throw new XylemError('Cannot specify both --selinux-policy and --selinux-policy-from-base');
    const epoch = p.value('selinux-labeling-epoch') ?? '0';
    if (!/^[+-]?\d+$/.test(epoch)) throw new UsageError(`Cannot parse integer value “${epoch}” for --selinux-labeling-epoch`);
    if (Number(epoch) !== 0 && Number(epoch) !== 1) throw new XylemError(`Unknown SELinux labeling epoch: ${Number(epoch)}`);
    modifier.selinuxLabel = { labelVersion: Number(epoch) === 1 ? 1 : 0 };
    const usePolicy = (policy: SePolicy | null) => {
      if (policy) modifier.sepolicy = policy;
      else delete modifier.sepolicy;
    };
    if (sePolicyDir !== undefined) {
      const st = await ctx.host.fs.stat(sePolicyDir);
      if (!st) throw new XylemError(`opendir(${sePolicyDir}): No such file or directory`);
      if (st.kind !== 'dir') throw new XylemError(`opendir(${sePolicyDir}): Not a directory`);
      usePolicy(await loadPolicyFromDirectory(ctx.host.fs, sePolicyDir));
    }
    // ostree's commit filter: --mode-ro-executables, --statoverride, --skip-list.
    const roExec = p.flag('mode-ro-executables');
    const soFile = p.value('statoverride');
    const statOverride = soFile !== undefined ? parseStatOverride(await readTextFile(ctx.host, soFile)) : null;
    const skipFile = p.value('skip-list');
    const skip = skipFile !== undefined ? new Set((await readTextFile(ctx.host, skipFile)).split('\n').filter((l) => l !== '')) : null;
    if (roExec || statOverride || skip) {
      modifier.filter = (path, info) => {
        if (roExec && (info.mode & S_IFMT) === S_IFREG && (info.mode & 0o111) !== 0) info.mode &= ~0o222;
        const add = statOverride?.adds.get(path);
        const set = statOverride?.sets.get(path);
        if (add !== undefined) {
          info.mode |= add;
          statOverride!.adds.delete(path);
        } else if (set !== undefined) info.mode = (info.mode & S_IFMT) | set;
        return !skip?.has(path);
      };
    }

    const metadata: Array<[string, GVVariant]> = [];
    let parent: string | null | undefined = undefined;
    const parentArg = p.value('parent');
    if (parentArg === 'none') parent = null;
    else if (parentArg !== undefined) parent = (await resolveRev(repo, parentArg))!;
    else if (orphan && !branch) parent = null;
    for (const s of p.list('add-metadata-string')) {
      const [k, v] = parseKeyValue(s);
      metadata.push([k, { type: 's', value: v }]);
    }
    for (const s of p.list('add-metadata')) {
      const [k, v] = parseKeyValue(s);
      metadata.push([k, parseText(v)]);
    }
    // As ostree: --add-metadata-string entries, then --add-metadata, then the kept keys.
    for (const k of p.list('keep-metadata')) {
      const base = parent ?? (branch ? await resolveRev(repo, branch, true) : null);
      if (!base) throw new UsageError('Either --branch or --parent must be specified when using --keep-metadata');
      const c = await repo.loadCommit(base);
      const v = [...c.metadata].reverse().find(([key]) => key === k);
      if (v) metadata.push([k, v[1]]);
    }

    const txn = new Transaction(repo);
    try {
      if (p.flag('link-checkout-speedup') || modifier.devinoCanonical) modifier.devino = await scanDevinoCache(repo);
      const ictx = makeImportContext(txn, modifier);
      const tree = new MutableTree();
      // --base: start from that commit's tree as it is (no modifier), then lay the trees over it.
      const base = p.value('base');
      if (base !== undefined) {
        await importCommitTree(repo, base, tree);
        if (seFromBase) {
          usePolicy(await loadPolicyFromCommit(repo, base));
          seFromBase = false;
        }
      }
      // As ostree, a --tree=ref= is walked with the modifier only when an option needs one.
      const modifierActive =
        ou !== undefined ||
        og !== undefined ||
        !!modifier.canonicalPermissions ||
        !!modifier.skipXattrs ||
        !!modifier.filter ||
        sePolicyDir !== undefined ||
        p.flag('selinux-policy-from-base');
      const trees = p.list('tree');
      if (trees.length === 0) trees.push(`dir=${p.positionals[0] ?? '.'}`);
      for (const [n, t] of trees.entries()) {
        const i = t.indexOf('=');
        if (i < 0) throw new UsageError(`Missing type in tree specification '${t}'`);
        const kind = t.slice(0, i);
        const arg = t.slice(i + 1);
        // --selinux-policy-from-base without --base: the policy of the first tree.
        if (n === 0 && seFromBase) {
          if (kind === 'dir') {
            const st = await ctx.host.fs.stat(arg);
            if (!st || st.kind !== 'dir') throw new XylemError(`opendir(${arg}): ${st ? 'Not a directory' : 'No such file or directory'}`);
            usePolicy(await loadPolicyFromDirectory(ctx.host.fs, arg));
          } else if (kind === 'tar') throw new XylemError('Cannot use --selinux-policy-from-base with tar');
          else if (kind === 'ref') usePolicy(await loadPolicyFromCommit(repo, arg));
        }
        if (kind === 'dir') await importDirectory(ictx, arg, tree);
        else if (kind === 'ref' && modifierActive) await importCommitTreeModified(ictx, arg, tree);
        else if (kind === 'ref') await importCommitTree(repo, arg, tree);
        else if (kind === 'tar') {
          const { importTarball } = await import('../../src/repo/tar-import.ts');
          await importTarball(ictx, arg, tree);
        } else throw new UsageError(`Invalid tree type specification '${kind}'`);
      }
      if (statOverride && statOverride.adds.size > 0) {
        for (const path of statOverride.adds.keys()) ctx.err(`Unmatched statoverride path: ${path}\n`);
        throw new XylemError('Unmatched statoverride paths');
      }
      if (p.flag('bootable')) metadata.push(...(await bootableMetadata(tree)));
      const bindRef = !p.flag('no-bindings');
      const opts: Parameters<typeof writeCommit>[2] = {
        subject: p.value('subject') ?? '',
        body,
        timestamp,
        metadata,
        branch,
        bindRef,
        bindRefs: p.list('bind-ref'),
      };
      if (parent !== undefined) opts.parent = parent;
      const cid = repo.config.get('core', 'collection-id');
      if (cid) opts.collectionId = cid;
      if (p.flag('skip-if-unchanged')) {
        const base = parent !== undefined ? parent : branch ? await resolveRev(repo, branch, true) : null;
        if (base) {
          const defaultMeta = undefined;
          void defaultMeta;
          const pc = await repo.loadCommit(base);
          const { ObjectType, encodeDirMeta } = await import('../../src/format/objects.ts');
          const dm = await txn.writeMetadata(ObjectType.DirMeta, encodeDirMeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] }));
          const [rt, rm] = await tree.write(txn, dm);
          if (rt === pc.rootTree && rm === pc.rootMeta) {
            await txn.abort();
            ctx.out(`${base}\n`);
            return 0;
          }
        }
      }
      const { checksum, commit } = await writeCommit(txn, tree, opts);
      const detached: Array<[string, GVVariant]> = [];
      for (const s of p.list('add-detached-metadata-string')) {
        const [k, v] = parseKeyValue(s, true);
        detached.push([k, { type: 's', value: v }]);
      }
      const signed = await signNewCommit(ctx, repo, checksum, encodeCommit(commit), detached.length ? detached : null, signing);
      if (signed) await txn.writeCommitMeta(checksum, encode('a{sv}', signed));
      if (branch) {
        const { remote, ref } = parseRefspec(branch);
        txn.setRef(remote, ref, checksum);
      }
      const stats = await txn.commit();
      if (p.flag('table-output')) {
        ctx.out(`Commit: ${checksum}\n`);
        ctx.out(`Metadata Total: ${stats.metadataObjectsTotal}\n`);
        ctx.out(`Metadata Written: ${stats.metadataObjectsWritten}\n`);
        ctx.out(`Content Total: ${stats.contentObjectsTotal}\n`);
        ctx.out(`Content Written: ${stats.contentObjectsWritten}\n`);
        ctx.out(`Content Cache Hits: ${ictx.devinoHits}\n`);
        ctx.out(`Content Bytes Written: ${stats.contentBytesWritten}\n`);
      } else ctx.out(`${checksum}\n`);
      return 0;
    } catch (e) {
      await txn.abort().catch(() => undefined);
      throw e;
    }
  },
};

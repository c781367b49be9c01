// Committing a directory in one call, for library users: what `ostree commit --branch=B DIR` does
// (a transaction, a MutableTree filled from DIR, the commit object, the ref) without the four-step
// ceremony. Objects are made durable before the ref moves (Transaction.commit); on any failure the
// transaction is aborted and no ref changes.

import type { GVVariant } from '../format/gvariant.ts';
import { XylemError } from '../util/errors.ts';
import { importDirectory, makeImportContext, writeCommit, type CommitModifier } from './commit.ts';
import { MutableTree } from './mutable-tree.ts';
import { validateRefName } from './refs.ts';
import type { Repo } from './repo.ts';
import { sourceDateEpoch } from './timestamp.ts';
import { Transaction } from './transaction.ts';

export interface CommitDirectoryOptions {
  /** The branch (ref) to create or move; the commit's parent is its current head. */
  branch: string;
  subject?: string;
  body?: string;
  /** Seconds since the epoch (default: SOURCE_DATE_EPOCH from the host's env, else now). */
  timestamp?: bigint | number;
  /** Extra commit metadata, in this order (e.g. `['version', { type: 's', value: '1.0' }]`). */
  metadata?: Array<[string, GVVariant]>;
  /** Ownership/permission/xattr rewriting and filtering, as `ostree commit`'s options. */
  modifier?: CommitModifier;
}

export interface CommitDirectoryResult {
  /** The new commit's checksum (64 hex digits). */
  checksum: string;
  /** The commit it descends from (the branch's previous head), or null. */
  parent: string | null;
}

/** Commits the directory `dir` (on the repo's host) to `opts.branch`; returns the new commit. */
export async function commitDirectory(repo: Repo, dir: string, opts: CommitDirectoryOptions): Promise<CommitDirectoryResult> {
  if (typeof repo !== 'object' || repo === null || typeof repo.path !== 'string') throw new TypeError('commitDirectory: a Repo is required');
  if (typeof dir !== 'string' || dir === '') throw new TypeError('commitDirectory: a directory path is required');
  if (typeof opts !== 'object' || opts === null) throw new TypeError('commitDirectory: options { branch } are required');
  if (typeof opts.branch !== 'string') throw new TypeError('commitDirectory: options.branch must be a string');
  validateRefName(opts.branch);
  const st = await repo.fs.stat(dir);
  if (!st) throw new XylemError(`commitDirectory: ${dir}: No such file or directory`);
  if (st.kind !== 'dir') throw new XylemError(`commitDirectory: ${dir}: not a directory`);
  let timestamp: bigint;
  if (opts.timestamp === undefined) timestamp = sourceDateEpoch(repo.host.env) ?? BigInt(Math.floor((repo.host.now ?? Date.now)() / 1000));
  else if (typeof opts.timestamp === 'bigint') timestamp = opts.timestamp;
  else if (Number.isSafeInteger(opts.timestamp)) timestamp = BigInt(opts.timestamp);
  else throw new TypeError(`commitDirectory: options.timestamp must be whole seconds, got ${opts.timestamp}`);
  if (timestamp < 0n) throw new XylemError(`commitDirectory: timestamp ${timestamp} is before the epoch`);

  const txn = new Transaction(repo);
  try {
    const tree = new MutableTree();
    await importDirectory(makeImportContext(txn, opts.modifier), dir, tree);
    const { checksum, commit } = await writeCommit(txn, tree, {
      branch: opts.branch,
      subject: opts.subject ?? '',
      body: opts.body ?? '',
      timestamp,
      metadata: opts.metadata,
    });
    txn.setRef(null, opts.branch, checksum);
    await txn.commit();
    return { checksum, parent: commit.parent };
  } catch (e) {
    await txn.abort().catch(() => undefined);
    throw e;
  }
}

// An in-memory directory tree being assembled for a commit: files map to content checksums,
// subdirectories are nested trees or references to existing dirtree/dirmeta objects (lazily expanded).

import type { Repo } from './repo.ts';
import type { Transaction } from './transaction.ts';
import { ObjectType, encodeDirTree, sortDirTree, type DirTree } from '../format/objects.ts';

export class MutableTree {
  files = new Map<string, string>();
  dirs = new Map<string, MutableTree>();
  metaChecksum: string | null = null;
  /** When set, this tree is exactly an existing dirtree object and has not been modified. */
  private baseTree: string | null = null;
  private expanded = true;
  private repo: Repo | null = null;

  /** A tree standing for an existing dirtree object; its contents load only if modified. */
  static fromExisting(repo: Repo, treeChecksum: string, metaChecksum: string): MutableTree {
    const t = new MutableTree();
    t.baseTree = treeChecksum;
    t.metaChecksum = metaChecksum;
    t.expanded = false;
    t.repo = repo;
    return t;
  }

  /** Loads the children of a lazily referenced dirtree so it can be modified. */
  async expand(): Promise<void> {
    if (this.expanded) return;
    const dt = await this.repo!.loadDirTree(this.baseTree!);
    for (const f of dt.files) this.files.set(f.name, f.checksum);
    for (const d of dt.dirs) this.dirs.set(d.name, MutableTree.fromExisting(this.repo!, d.treeChecksum, d.metaChecksum));
    this.expanded = true;
  }

  /** Marks this tree modified (it can no longer reuse its base dirtree checksum). */
  async touch(): Promise<void> {
    await this.expand();
    this.baseTree = null;
  }

  /** Gets or creates a subdirectory for modification. */
  async ensureDir(name: string): Promise<MutableTree> {
    await this.touch();
    let d = this.dirs.get(name);
    if (!d) {
      d = new MutableTree();
      this.files.delete(name);
      this.dirs.set(name, d);
    } else {
      await d.touch();
    }
    return d;
  }

  async setFile(name: string, checksum: string): Promise<void> {
    await this.touch();
    this.dirs.delete(name);
    this.files.set(name, checksum);
  }

  /** Writes this tree's dirtree objects bottom-up; returns [treeChecksum, metaChecksum]. */
  async write(txn: Transaction, defaultMeta: string): Promise<[string, string]> {
    const meta = this.metaChecksum ?? defaultMeta;
    if (this.baseTree !== null) return [this.baseTree, meta];
    const tree: DirTree = { files: [], dirs: [] };
    for (const [name, csum] of this.files) tree.files.push({ name, checksum: csum });
    for (const [name, sub] of this.dirs) {
      const [t, m] = await sub.write(txn, defaultMeta);
      tree.dirs.push({ name, treeChecksum: t, metaChecksum: m });
    }
    const checksum = await txn.writeMetadata(ObjectType.DirTree, encodeDirTree(sortDirTree(tree)));
    return [checksum, meta];
  }
}

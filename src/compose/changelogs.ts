// `db diff --changelogs`: the changelog entries an upgrade brings, read from the rpmdb inside each
// commit (usr/share/rpm/rpmdb.sqlite, src/rpmdb), as rpm-ostree prints them after each upgraded
// package: the new package's entries newer than the old package's newest, each as
// `* <Day Mon DD YYYY> <name>\n<text>\n\n` (rpmostree-rpm-util.cxx).

import type { Host } from '../host.ts';
import type { Repo } from '../repo/repo.ts';
import { MAX_RPMDB_BYTES, readRpmdbImage } from '../rpmdb/index.ts';
import { commitTreeReader, readTreeFile } from '../selinux/policy.ts';
import type { Nevra } from '../rpm/types.ts';
import { formatEvr } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';
import type { PackageDiff } from './dbdiff.ts';

const CHANGELOGTIME = 1080;
const CHANGELOGNAME = 1081;
const CHANGELOGTEXT = 1082;
const NAME = 1000;
const ARCH = 1022;

export interface ChangelogEntry {
  time: number;
  name: string;
  text: string;
}

/** Changelogs of a commit's packages by `name.arch`, newest first (as rpm stores them). */
export async function commitChangelogs(host: Host, repo: Repo, rev: string): Promise<Map<string, ChangelogEntry[]>> {
  const tree = await commitTreeReader(repo, rev);
  const image = await readTreeFile(tree, '/usr/share/rpm/rpmdb.sqlite', MAX_RPMDB_BYTES);
  if (!image) throw new XylemError(`${rev}: no rpmdb at /usr/share/rpm/rpmdb.sqlite (needed for --changelogs)`, 'ENOENT');
  const out = new Map<string, ChangelogEntry[]>();
  for (const p of await readRpmdbImage(host, image, `${rev}:/usr/share/rpm/rpmdb.sqlite`)) {
    const h = p.header;
    const times = h.uint32s(CHANGELOGTIME);
    const names = h.strings(CHANGELOGNAME);
    const texts = h.strings(CHANGELOGTEXT);
    const n = Math.min(times.length, names.length, texts.length);
    const entries: ChangelogEntry[] = [];
    for (let i = 0; i < n; i++) entries.push({ time: times[i]!, name: names[i]!, text: texts[i]! });
    out.set(`${h.string(NAME)}.${h.string(ARCH) ?? ''}`, entries);
  }
  return out;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `%a %b %d %Y` in UTC. */
export function changelogDate(t: number): string {
  const d = new Date(t * 1000);
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, '0')} ${d.getUTCFullYear()}`;
}

/** The block format with each upgrade followed by the changelog entries it brings. */
export function renderDiffBlockWithChangelogs(d: PackageDiff, from: Map<string, ChangelogEntry[]>, to: Map<string, ChangelogEntry[]>): string {
  let out = '';
  const key = (p: Nevra) => `${p.name}.${p.arch}`;
  const section = (title: string, l: Array<[Nevra, Nevra]>, logs: boolean) => {
    if (l.length === 0) return;
    out += `${title}:\n`;
    for (const [o, n] of l) {
      out += `  ${o.name} ${formatEvr(o)} -> ${formatEvr(n)}\n`;
      if (!logs) continue;
      const newest = Math.max(0, ...(from.get(key(o)) ?? []).map((e) => e.time));
      for (const e of to.get(key(n)) ?? []) if (e.time > newest) out += `* ${changelogDate(e.time)} ${e.name}\n${e.text}\n\n`;
    }
  };
  section('Upgraded', d.upgraded, true);
  section('Downgraded', d.downgraded, false);
  for (const [title, l] of [
    ['Removed', d.removed],
    ['Added', d.added],
  ] as const) {
    if (l.length === 0) continue;
    out += `${title}:\n`;
    for (const p of l) out += `  ${p.name}-${formatEvr(p)}.${p.arch}\n`;
  }
  return out;
}

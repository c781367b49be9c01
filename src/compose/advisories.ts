// `rpmostree.advisories` of a composed commit, as rpm-ostree builds it
// (rpmostree-rpm-util.cxx rpmostree_advisories_variant): the repos' updateinfo security advisories
// that name one of the installed packages exactly (name, epoch, version, release, arch), each as
// (id s, kind u, severity u, installed NEVRAs as, {cve_references: a(ss) (url, title)}) — type
// a(suuasa{sv}). Kind and severity are libdnf's and rpm-ostree's enums; a bugzilla reference is
// kept (sorted by URL) when its title mentions a CVE not seen in an earlier one.

import type { GVVariant } from '../format/gvariant.ts';
import type { Advisory } from '../rpmmd/index.ts';
import type { Nevra } from '../rpm/types.ts';
import { formatNevra } from '../rpm/types.ts';

/** libdnf's DnfAdvisoryKind for `security`. */
export const ADVISORY_KIND_SECURITY = 1;

/** rpm-ostree's RpmOstreeAdvisorySeverity: none 0, low 1, moderate 2, important 3, critical 4. */
export function advisorySeverity(s: string): number {
  const u = (s ?? '').toUpperCase();
  return u === 'LOW' ? 1 : u === 'MODERATE' ? 2 : u === 'IMPORTANT' ? 3 : u === 'CRITICAL' ? 4 : 0;
}

function key(n: { name: string; epoch: number | null; version: string; release: string; arch: string }): string {
  return `${n.name}\0${n.epoch ?? 0}\0${n.version}\0${n.release}\0${n.arch}`;
}

/** Whether updateinfo's `type` is a security advisory. */
export function isSecurity(a: Pick<Advisory, 'type'>): boolean {
  return a.type.toLowerCase() === 'security';
}

/** The cve_references of an advisory: bugzilla references by URL, each kept when it names a new CVE. */
export function cveReferences(a: Pick<Advisory, 'references'>): Array<[string, string]> {
  const refs = a.references.filter((r) => r.type === 'bugzilla' && r.href !== '' && r.title !== '').sort((x, y) => (x.href < y.href ? -1 : x.href > y.href ? 1 : 0));
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  for (const r of refs) {
    const cves = r.title.match(/\bCVE-[0-9]+-[0-9]+\b/g) ?? [];
    if (cves.length === 0 || cves.every((c) => seen.has(c))) continue;
    out.push([r.href, r.title]);
    for (const c of cves) seen.add(c);
  }
  return out;
}

/** The advisories variant for `installed`, or null when no security advisory names one of them. */
export function advisoriesVariant(advisories: readonly Advisory[], installed: readonly Nevra[]): GVVariant | null {
  const out: GVVariant['value'][] = [];
  const seen = new Set<string>();
  for (const a of [...advisories].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) {
    if (!isSecurity(a) || seen.has(a.id)) continue;
    const listed = new Set<string>();
    for (const c of a.collections) for (const p of c.packages) listed.add(key({ ...p, epoch: p.epoch === 0 ? null : p.epoch }));
    // In the order of the installed packages, as upstream walks them.
    const pkgs = installed.filter((n) => listed.has(key(n))).map(formatNevra);
    if (pkgs.length === 0) continue;
    seen.add(a.id);
    out.push([a.id, ADVISORY_KIND_SECURITY, advisorySeverity(a.severity), pkgs, [['cve_references', { type: 'a(ss)', value: cveReferences(a) }]]]);
  }
  return out.length > 0 ? { type: 'a(suuasa{sv})', value: out } : null;
}

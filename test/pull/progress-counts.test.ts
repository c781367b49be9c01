// The pull progress counters against real pulls: repos written by the real ostree (commits on
// three refs, a static delta from the parent and one from scratch), served over HTTP on 127.0.0.1
// by xylem's trivial-httpd (once with random 500s), pulled by xylem with a progress event for
// every counter change. In every event the objects fetched never exceed the objects requested,
// delta parts never exceed their total, and the rendered line never shows a count above its
// total or a percentage above 100; a pull that completes ends with every request fetched. And the
// renderer itself never shows a count above its total, whatever snapshot it is given.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeInterop, ok, ostree } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { pull } from '../../src/pull/pull.ts';
import type { PullOptions } from '../../src/pull/options.ts';
import { emptyProgress, formatPullProgressLine, type PullProgress } from '../../src/pull/progress.ts';
import { startTrivialHttpd, type RunningHttpd } from '../../tools/httpd/server.ts';

/** Every way a progress event could show more than its total; empty when none does. */
function overflows(p: Readonly<PullProgress>): string[] {
  const out: string[] = [];
  if (p.fetched > p.requested) out.push(`fetched ${p.fetched} > requested ${p.requested}`);
  if (p.metadataFetched + p.contentFetched > p.fetched) out.push(`metadata ${p.metadataFetched} + content ${p.contentFetched} > fetched ${p.fetched}`);
  if (p.fetchedDeltaParts > p.totalDeltaParts) out.push(`delta parts ${p.fetchedDeltaParts} > ${p.totalDeltaParts}`);
  if (p.fetchedDeltaPartSize > p.totalDeltaPartSize) out.push(`delta bytes ${p.fetchedDeltaPartSize} > ${p.totalDeltaPartSize}`);
  if (p.outstandingFetches < 0) out.push(`outstanding fetches ${p.outstandingFetches}`);
  const line = formatPullProgressLine(p as PullProgress, p.startTime + 1000);
  const objs = /\((\d+)\/(\d+)\)/.exec(line);
  if (objs && Number(objs[1]) > Number(objs[2])) out.push(`line shows ${objs[0]}: ${line}`);
  const parts = /delta parts: (\d+)\/(\d+)/.exec(line);
  if (parts && Number(parts[1]) > Number(parts[2])) out.push(`line shows ${parts[0]}: ${line}`);
  const pct = /(\d+)%/.exec(line);
  if (pct && Number(pct[1]) > 100) out.push(`line shows ${pct[0]}: ${line}`);
  return out;
}

describe('the progress line never shows a count above its total', () => {
  it('objects and delta parts: a snapshot whose total lags its count shows the count as the total', () => {
    const p = emptyProgress(0);
    p.phase = 'fetching';
    p.requested = 10;
    p.fetched = 12;
    p.outstandingFetches = 1;
    expect(formatPullProgressLine(p, 1000)).toMatch(/^Receiving objects: 100% \(12\/12\) 0\sbytes\/s/);
    p.requested = 20;
    expect(formatPullProgressLine(p, 1000)).toMatch(/^Receiving objects: 60% \(12\/20\) /);
    p.totalDeltaParts = 2;
    p.fetchedDeltaParts = 3;
    p.totalDeltaPartSize = 1000;
    p.fetchedDeltaPartSize = 1500;
    expect(formatPullProgressLine(p, 1000)).toMatch(/^Receiving delta parts: 3\/3 1\.5\skB\/1\.5\skB /);
    expect(overflows(p).filter((o) => o.startsWith('line'))).toEqual([]);
  });
});

describeInterop('pull progress counters never exceed their totals', () => {
  let dir: string;
  let src: string;
  let httpd: RunningHttpd;
  let flaky: RunningHttpd;
  let c1: string;
  const host = createNodeHost();

  const tree = (name: string, version: number): string => {
    const t = join(dir, name);
    for (const sub of ['usr/lib', 'usr/share/doc', 'etc']) mkdirSync(join(t, sub), { recursive: true });
    for (let i = 0; i < 24; i++) writeFileSync(join(t, 'usr/lib', `lib${i}.so`), `library ${i} ${i % 4 === 0 ? version : 0}\n`.repeat(40 + i));
    for (let i = 0; i < 6; i++) writeFileSync(join(t, 'usr/share/doc', `doc${i}`), `same text ${i}\n`); // shared across versions
    writeFileSync(join(t, 'etc/os-release'), `VERSION=${version}\n`);
    writeFileSync(join(t, 'etc/copy'), `VERSION=${version}\n`); // the same content twice in one tree
    return t;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-progress-counts-'));
    src = join(dir, 'src');
    ok(ostree(['init', `--repo=${src}`, '--mode=archive']));
    const commit = (ref: string, v: number) => ok(ostree(['commit', `--repo=${src}`, '-b', ref, `--tree=dir=${tree(`t-${ref}-${v}`, v)}`, '-s', `v${v}`])).trim();
    c1 = commit('os/main', 1);
    commit('os/main', 2);
    commit('os/main', 3);
    commit('os/other', 3); // shares most objects with os/main
    commit('os/third', 7);
    ok(ostree(['static-delta', 'generate', `--repo=${src}`, 'os/main'])); // from its parent
    ok(ostree(['static-delta', 'generate', `--repo=${src}`, '--empty', '--to=os/third']));
    ok(ostree(['summary', '-u', `--repo=${src}`]));
    httpd = await startTrivialHttpd({ root: src });
    flaky = await startTrivialHttpd({ root: src, random500sPercent: 20, random500sMax: 1000 });
  });
  afterAll(async () => {
    await httpd?.close();
    await flaky?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function client(name: string, url: string, mode = 'bare-user'): Promise<Repo> {
    const path = join(dir, name);
    ok(ostree(['init', `--repo=${path}`, `--mode=${mode}`]));
    ok(ostree(['remote', 'add', `--repo=${path}`, '--no-gpg-verify', 'origin', url]));
    return Repo.open(host, path);
  }

  /** Pulls with an event for every counter change; returns the events' overflows and the last counters. */
  async function watchedPull(repo: Repo, opts: Omit<PullOptions, 'onProgress'>): Promise<{ problems: string[]; events: number; final: PullProgress }> {
    const problems: string[] = [];
    let events = 0;
    const res = await pull(repo, 'origin', {
      ...opts,
      updateFrequencyMs: 1e-9,
      onProgress: (p) => {
        events++;
        for (const o of overflows(p)) if (problems.length < 10) problems.push(o);
      },
    });
    return { problems, events, final: res.progress };
  }

  it('object pulls: all history, several refs sharing objects, subpaths, then an update', async () => {
    const repo = await client('objects', httpd.url);
    for (const opts of [
      { refs: [`os/main@${c1}`], depth: 0 },
      { refs: ['os/main', 'os/other', 'os/third'], depth: -1, disableStaticDeltas: true },
    ] satisfies Array<Omit<PullOptions, 'onProgress'>>) {
      const r = await watchedPull(repo, opts);
      expect(r.problems, JSON.stringify(opts)).toEqual([]);
      expect(r.events).toBeGreaterThan(10);
      expect(r.final.fetched).toBe(r.final.requested);
      expect(r.final.fetched).toBeGreaterThan(0);
    }
    const sub = await watchedPull(await client('subpaths', httpd.url), { refs: ['os/main', 'os/other'], subpaths: ['/usr/lib', '/etc/os-release'], depth: 1 });
    expect(sub.problems).toEqual([]);
    expect(sub.final.fetched).toBe(sub.final.requested);
  });

  it('delta pulls: from the parent and from scratch, with the objects after them', async () => {
    // the client has os/main's parent: os/main comes by the parent→main delta, os/third from scratch
    const fresh = await client('deltas', httpd.url);
    const parent = ok(ostree([`--repo=${src}`, 'rev-parse', 'os/main^'])).trim();
    expect((await watchedPull(fresh, { refs: [`os/main@${parent}`], depth: 0, disableStaticDeltas: true })).problems).toEqual([]);
    const viaDelta = await watchedPull(fresh, { refs: ['os/main', 'os/third'], depth: 0 });
    expect(viaDelta.problems).toEqual([]);
    expect(viaDelta.final.totalDeltaParts).toBeGreaterThan(0);
    expect(viaDelta.final.fetchedDeltaParts).toBe(viaDelta.final.totalDeltaParts);
    expect(viaDelta.final.fetched).toBe(viaDelta.final.requested);
  });

  it('a server failing 20% of requests (retried), and a mirror pull', async () => {
    const flakyPull = await watchedPull(await client('flaky', flaky.url), { refs: ['os/main', 'os/other'], depth: -1, disableStaticDeltas: true, networkRetries: 50 });
    expect(flakyPull.problems).toEqual([]);
    expect(flakyPull.final.fetched).toBe(flakyPull.final.requested);
    const mirror = await watchedPull(await client('mirror', httpd.url, 'archive'), { refs: [], mirror: true, depth: -1 });
    expect(mirror.problems).toEqual([]);
    expect(mirror.final.fetched).toBe(mirror.final.requested);
  });
});

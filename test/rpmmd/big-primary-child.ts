// Child process of memory.test.ts: loads a repo over HTTP into a cache and streams its primary.xml,
// then prints what it saw and its peak RSS (process.resourceUsage().maxRSS, KiB) as JSON.
// Usage: node --import tsx big-primary-child.ts BASEURL CACHEDIR

import { createNodeHost } from '../../runtimes/node/index.ts';
import { loadRepoMetadata, makeRepoConfig, readPrimary } from '../../src/rpmmd/index.ts';

const [baseurl, cacheDir] = process.argv.slice(2);
const host = createNodeHost();
const t0 = Date.now();
const md = await loadRepoMetadata(host, makeRepoConfig({ id: 'big', baseurl: [baseurl!] }), { cacheDir: cacheDir!, types: ['primary'] });
const t1 = Date.now();
const rssAfterFetchKiB = process.resourceUsage().maxRSS;
let packages = 0;
let deps = 0;
let files = 0;
let lastName = '';
await readPrimary(host, md, (p) => {
  packages++;
  deps += p.provides.length + p.requires.length + p.conflicts.length + p.obsoletes.length;
  files += p.files.length;
  lastName = p.name;
});
const t2 = Date.now();
process.stdout.write(
  JSON.stringify({ packages, deps, files, lastName, downloaded: md.downloaded, fetchMs: t1 - t0, parseMs: t2 - t1, rssAfterFetchKiB, maxRssKiB: process.resourceUsage().maxRSS, memory: process.memoryUsage() }) + '\n',
);

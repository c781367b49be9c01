// Progress texts: sizes as GLib's g_format_size prints them (GLib via python3-gi is the oracle),
// and the one-line renderer's templates.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { missing } from '../helpers/require-tool.ts';
import { emptyProgress, formatPullProgressLine, formatPullStatus } from '../../src/pull/progress.ts';
import { formatSize } from '../../src/util/format-size.ts';

const SIZES = [0, 1, 2, 999, 1000, 1023, 1024, 1049, 1050, 1500, 99_949, 999_999, 1_000_000, 15_200_000, 1_234_567_890, 10 ** 13];

function glibFormatSizes(ns: number[]): string[] | null {
  const r = spawnSync('/usr/bin/python3', ['-c', `from gi.repository import GLib\nfor n in ${JSON.stringify(ns)}: print(GLib.format_size(n))`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trimEnd().split('\n') : null;
}

describe('pull progress texts', () => {
  const glib = glibFormatSizes(SIZES);
  it.skipIf(missing('formatSize vs GLib', { 'GLib (python3-gi)': glib !== null }))('formatSize matches g_format_size', () => {
    expect(SIZES.map(formatSize)).toEqual(glib);
  });

  it('final status line follows ostree (fetched / imported / local / B vs KiB)', () => {
    const p = emptyProgress(0);
    p.metadataFetched = 12;
    p.contentFetched = 34;
    p.bytesTransferred = 5000;
    expect(formatPullStatus(p, { local: false, contentBytesWritten: 15_200_000, elapsedSeconds: 3.7 })).toBe(
      '12 metadata, 34 content objects fetched; 4 KiB transferred in 3 seconds; 15.2\u00a0MB content written',
    );
    p.bytesTransferred = 900;
    p.importedMetadata = 4;
    p.importedContent = 5;
    expect(formatPullStatus(p, { local: false, contentBytesWritten: 0, elapsedSeconds: 0 })).toBe(
      '12 metadata, 34 content objects fetched (4 meta, 5 content local); 900 B transferred in 0 seconds; 0 bytes content written',
    );
    p.bytesTransferred = 0;
    expect(formatPullStatus(p, { local: true, contentBytesWritten: 1, elapsedSeconds: 0 })).toBe('4 metadata, 5 content objects imported; 1 byte content written');
  });

  it('one-line progress: receiving objects with percentage, rate and total', () => {
    const p = emptyProgress(0);
    p.phase = 'fetching';
    p.requested = 5120;
    p.fetched = 2345;
    p.outstandingFetches = 8;
    p.bytesTransferred = 15_200_000;
    expect(formatPullProgressLine(p, 5000)).toBe('Receiving objects: 45% (2345/5120) 3.0\u00a0MB/s 15.2\u00a0MB');
    p.outstandingFetches = 0;
    p.requested = p.fetched;
    p.scannedMetadata = 7;
    expect(formatPullProgressLine(p, 5000)).toBe('Scanning metadata: 7');
  });
});

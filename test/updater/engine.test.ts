// The runtime-neutral parts of the host updater, in-process: the cancel token, the transaction
// record (claimed once, hostile contents refused), the fetch wrapper's cancellation, rpm-ostree's
// REVISION and rebase-target syntax, GVariant → JSON, and the status text layout.

import { describe, expect, it } from 'vitest';
import { createMemoryHost } from '../../runtimes/memory/index.ts';
import { FetchError } from '../../src/pull/fetcher.ts';
import {
  CancelToken,
  CancelledError,
  createTransactionState,
  parseRevision,
  parseTransactionState,
  readTransactionState,
  rebaseRefspec,
  removeTransactionState,
  renderStatusText,
  requestCancel,
  cancelRequested,
  transactionFetch,
  gvariantToJson,
  type DeploymentStatus,
  type StatusModel,
  type TransactionState,
} from '../../src/updater/index.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function state(over: Partial<TransactionState> = {}): TransactionState {
  return { id: 'id-1', title: 'rpm-xylem upgrade', pid: 4242, pidStart: '99', started: '2026-01-01T00:00:00Z', phase: 'pulling', progress: '', ...over };
}

describe('CancelToken', () => {
  it('trips once, notifies listeners, and rejects pending sleeps and later checks', async () => {
    const t = new CancelToken();
    const seen: string[] = [];
    t.onCancel((r) => seen.push(r));
    const sleeping = t.sleep(60_000);
    t.cancel('stop now');
    t.cancel('again');
    await expect(sleeping).rejects.toBeInstanceOf(CancelledError);
    expect(seen).toEqual(['stop now']);
    expect(() => t.throwIfCancelled()).toThrow('stop now');
    expect(t.signal().aborted).toBe(true);
  });

  it('the transaction fetch refuses after cancellation with a non-retryable error and aborts in-flight requests', async () => {
    const t = new CancelToken();
    let seenSignal: AbortSignal | null = null;
    const base = ((_u: unknown, init?: RequestInit) => {
      seenSignal = init!.signal!;
      return new Promise<Response>((_res, rej) => init!.signal!.addEventListener('abort', () => rej(new Error('aborted'))));
    }) as typeof fetch;
    const f = transactionFetch(base, { token: t });
    const inflight = f('http://127.0.0.1:1/x');
    t.cancel();
    const err = await inflight.catch((e) => e);
    expect(err).toBeInstanceOf(FetchError);
    expect((err as FetchError).retryable).toBe(false);
    expect(seenSignal!.aborted).toBe(true);
    await expect(f('http://127.0.0.1:1/y')).rejects.toMatchObject({ retryable: false });
  });
});

describe('transaction record', () => {
  it('only one claim wins; cancel requests name one transaction', async () => {
    const host = createMemoryHost();
    await host.fs.mkdir('/sys', { recursive: true });
    expect(await createTransactionState(host.fs, '/sys', state())).toBe(true);
    expect(await createTransactionState(host.fs, '/sys', state({ id: 'id-2', pid: 5 }))).toBe(false);
    expect(await readTransactionState(host.fs, '/sys')).toEqual(state());
    expect(await cancelRequested(host.fs, '/sys', 'id-1')).toBe(false);
    await requestCancel(host.fs, '/sys', 'id-1');
    expect(await cancelRequested(host.fs, '/sys', 'id-1')).toBe(true);
    expect(await cancelRequested(host.fs, '/sys', 'id-2')).toBe(false);
    await removeTransactionState(host.fs, '/sys');
    expect(await readTransactionState(host.fs, '/sys')).toBeNull();
    expect(await cancelRequested(host.fs, '/sys', 'id-1')).toBe(false);
  });

  it('hostile records are refused with the file named', () => {
    expect(() => parseTransactionState('{', '/s/t.json')).toThrow(/^\/s\/t\.json: invalid JSON/);
    expect(() => parseTransactionState('[]', 'f')).toThrow('f: not a JSON object');
    expect(() => parseTransactionState(JSON.stringify({ ...state(), pid: -1 }), 'f')).toThrow("f: field 'pid' is missing or invalid");
    expect(() => parseTransactionState(JSON.stringify({ ...state(), pid: 1.5 }), 'f')).toThrow("field 'pid'");
    expect(() => parseTransactionState(JSON.stringify({ ...state(), title: 7 }), 'f')).toThrow("field 'title'");
    expect(() => parseTransactionState(JSON.stringify({ ...state(), title: 'x'.repeat(5000) }), 'f')).toThrow("field 'title'");
  });
});

describe("rpm-ostree's argument syntax", () => {
  it('REVISION: revision=, version=, bare checksum, else a version', () => {
    expect(parseRevision(`revision=${A}`)).toEqual({ kind: 'checksum', value: A });
    expect(parseRevision(A)).toEqual({ kind: 'checksum', value: A });
    expect(parseRevision('version=38.1')).toEqual({ kind: 'version', value: '38.1' });
    expect(parseRevision('38.1')).toEqual({ kind: 'version', value: '38.1' });
    expect(() => parseRevision('revision=abc')).toThrow("Invalid checksum 'abc'");
    expect(() => parseRevision('')).toThrow('Missing revision');
  });

  it('rebase targets: REMOTE:REF, REF (same remote), REMOTE: (same ref), :REF (local)', () => {
    expect(rebaseRefspec('fedora:os/stable', 'other:os/next')).toBe('other:os/next');
    expect(rebaseRefspec('fedora:os/stable', 'os/next')).toBe('fedora:os/next');
    expect(rebaseRefspec('fedora:os/stable', 'mirror:')).toBe('mirror:os/stable');
    expect(rebaseRefspec('fedora:os/stable', ':os/local')).toBe('os/local');
    expect(rebaseRefspec('fedora:os/stable', B)).toBe(B);
    expect(() => rebaseRefspec('fedora:os/stable', 'os/stable')).toThrow('Old and new refs are equal: fedora:os/stable');
  });
});

describe('status rendering', () => {
  it('GVariant values become JSON as rpm-ostree shows them', () => {
    expect(gvariantToJson('t', 5n)).toBe(5);
    expect(gvariantToJson('t', 2n ** 63n)).toBe('9223372036854775808');
    expect(gvariantToJson('as', ['a', 'b'])).toEqual(['a', 'b']);
    expect(gvariantToJson('a{sv}', [['k', { type: 'b', value: true }]])).toEqual({ k: true });
    expect(gvariantToJson('ay', new Uint8Array([1, 2]))).toEqual([1, 2]);
  });

  const dep = (over: Partial<DeploymentStatus>): DeploymentStatus => ({
    id: `os-${A}.0`,
    osname: 'os',
    serial: 0,
    checksum: A,
    booted: false,
    staged: false,
    pinned: false,
    unlocked: 'none',
    origin: 'remote:os/stable',
    timestamp: 1700000000,
    'base-commit-meta': {},
    'gpg-enabled': false,
    'requested-packages': [],
    'requested-local-packages': [],
    'requested-local-fileoverride-packages': [],
    'requested-base-removals': [],
    'requested-base-local-replacements': [],
    'requested-base-remote-replacements': [],
    packages: [],
    'base-removals': [],
    'base-local-replacements': [],
    'base-remote-replacements': {},
    'regenerate-initramfs': false,
    ...over,
  });

  it('busy header, ● marker, right-aligned keys, Timestamp without version, GPG and pin lines', () => {
    const model: StatusModel = {
      deployments: [
        dep({ version: '2.0', 'gpg-enabled': true, signatures: [{ valid: true, 'key-missing': false, fingerprint: 'ABCD', timestamp: 1 }] }),
        dep({ id: `os-${B}.1`, checksum: B, serial: 1, booted: true, pinned: true, origin: B, 'gpg-enabled': false }),
      ],
      transaction: ['rpm-xylem upgrade', 'rpm-xylem (pid 7)', 'id'],
      'cached-update': null,
      'update-driver': null,
    };
    const text = renderStatusText(model, { transaction: state({ phase: 'pulling', progress: '3/9 objects' }) });
    expect(text.split('\n')).toEqual([
      'State: busy',
      'Transaction: rpm-xylem upgrade',
      '  Initiator: rpm-xylem (pid 7)',
      '  Progress: pulling; 3/9 objects',
      'Deployments:',
      '  remote:os/stable',
      '                  Version: 2.0 (2023-11-14T22:13:20Z)',
      `                   Commit: ${A}`,
      '             GPGSignature: Valid signature by ABCD',
      '',
      `● ${B}`,
      '                Timestamp: 2023-11-14T22:13:20Z',
      '                   Pinned: yes',
      '',
    ]);
  });
});

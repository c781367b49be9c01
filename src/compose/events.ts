// Typed progress events of a compose, for the CLI (rpm-ostree's log lines) and for callers that
// show progress their own way.

import type { Nevra } from '../rpm/types.ts';

export type ComposePhase = 'resolve' | 'import' | 'checkout' | 'scripts' | 'rpmdb' | 'postprocess' | 'commit';

export type ComposeEvent =
  | { type: 'phase'; phase: ComposePhase; total: number }
  | { type: 'import'; nevra: Nevra; ref: string; cached: boolean }
  | { type: 'script'; pkg: string; script: string }
  | { type: 'skipped'; step: 'rpmdb' | 'selinux' | 'initramfs'; reason: string }
  | { type: 'input-hash'; hash: string }
  /** An informational line as rpm-ostree prints it ("New passwd entries: …", "Updating usr/lib/os-release"). */
  | { type: 'message'; text: string }
  | { type: 'unchanged' }
  | { type: 'committed'; ref: string; checksum: string; version: string | null };

// The command table (mirrors ostree's builtins). Each command lives in its own module and is
// loaded only when it runs, so start-up stays small: ostree's test suite calls the CLI thousands
// of times. To add a command: one entry with its name, its one-line summary and a lazy import.

import type { Command } from '../cli/context.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  /** What follows `[OPTION…]` on the help's usage line. */
  params: string;
  load(): Promise<Command>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'admin', summary: 'Commands for managing a host system booted with ostree', params: '--print-current-dir|COMMAND', load: async () => (await import('./admin.ts')).command },
  { name: 'cat', summary: 'Concatenate contents of files', params: 'COMMIT PATH...', load: async () => (await import('./cat.ts')).command },
  { name: 'checkout', summary: 'Check out a commit into a filesystem tree', params: 'COMMIT [DESTINATION]', load: async () => (await import('./checkout.ts')).command },
  { name: 'checksum', summary: 'Checksum a file or directory', params: 'PATH', load: async () => (await import('./checksum.ts')).command },
  { name: 'commit', summary: 'Commit a new revision', params: '[PATH]', load: async () => (await import('./commit.ts')).command },
  { name: 'config', summary: 'Change repo configuration settings', params: '(get KEY|set KEY VALUE|unset KEY)', load: async () => (await import('./config.ts')).command },
  { name: 'diff', summary: 'Compare a directory against a revision', params: 'REV_OR_DIR REV_OR_DIR', load: async () => (await import('./diff.ts')).command },
  { name: 'fsck', summary: 'Check the repository for consistency', params: '', load: async () => (await import('./fsck.ts')).command },
  { name: 'gpg-sign', summary: 'Sign a commit', params: 'COMMIT KEY-ID...', load: async () => (await import('./gpg-sign.ts')).command },
  { name: 'init', summary: 'Initialize a new empty repository', params: '', load: async () => (await import('./init.ts')).command },
  { name: 'log', summary: 'Show log starting at commit or ref', params: 'REV', load: async () => (await import('./show.ts')).logCommand },
  { name: 'ls', summary: 'List file paths', params: 'COMMIT [PATH...]', load: async () => (await import('./ls.ts')).command },
  { name: 'prune', summary: 'Search for unreachable objects', params: '', load: async () => (await import('./prune.ts')).command },
  { name: 'pull', summary: 'Download data from remote repository', params: 'REMOTE [BRANCH...]', load: async () => (await import('./pull.ts')).command },
  { name: 'pull-local', summary: 'Copy data from SRC_REPO', params: 'SRC_REPO [REFS...]', load: async () => (await import('./pull-local.ts')).command },
  { name: 'refs', summary: 'List refs', params: '[PREFIX]', load: async () => (await import('./refs.ts')).command },
  { name: 'remote', summary: 'Remote commands that may involve internet access', params: 'COMMAND', load: async () => (await import('./remote.ts')).command },
  { name: 'reset', summary: 'Reset a REF to a previous COMMIT', params: 'REF COMMIT', load: async () => (await import('./reset.ts')).command },
  { name: 'rev-parse', summary: 'Output the target of a rev', params: 'REV', load: async () => (await import('./rev-parse.ts')).command },
  { name: 'show', summary: 'Output a metadata object', params: 'OBJECT', load: async () => (await import('./show.ts')).showCommand },
  { name: 'sign', summary: 'Sign a commit', params: 'COMMIT KEY-ID...', load: async () => (await import('./sign.ts')).command },
  { name: 'static-delta', summary: 'Static delta related commands', params: 'COMMAND', load: async () => (await import('./static-delta.ts')).command },
  { name: 'summary', summary: 'Manage summary metadata', params: '', load: async () => (await import('./summary.ts')).command },
  { name: 'trivial-httpd', summary: 'Simple webserver', params: '[DIR]', load: async () => (await import('./trivial-httpd.ts')).command },
];

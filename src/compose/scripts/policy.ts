// rpm-ostree's script policy as data: which `<pkg>.<script>` are never run (rust/src/scripts.rs),
// which are replaced by a shell equivalent (the Lua replacements and release-specific
// suppressions of rpmostree-scripts.cxx), the Lua "skip" comment, and which script kinds a
// transaction may not carry. The replacement bodies are our own shell with the same effect.

import type { Scriptlet, ScriptletKind } from './types.ts';

/** Scripts rpm-ostree never runs, by `<pkg>.<script>`. */
const IGNORED = new Set([
  'glibc.prein',
  'glibc-headers.prein',
  'coreutils.prein',
  'ca-certificates.prein',
  'libgcc.post',
  'filesystem.posttrans',
  'setup.post',
  'pinentry.prein',
  'fedora-release.posttrans',
  'vagrant.prein',
  'vagrant-libvirt.prein',
  'bash.post',
  'gdb.prein',
  'systemd.transfiletriggerin',
  'man-db.transfiletriggerin',
  'filesystem.transfiletriggerin',
  'nfs-utils.post',
  'microcode_ctl.post',
  'microcode_ctl.posttrans',
]);

/** Kernel %posttrans scripts rpm-ostree takes over (dracut, depmod) unless kernel-install is used. */
const KERNEL_FLAVOURS = ['', '-redhat', '-debug', '-redhat-debug', '-automotive', '-automotive-debug', '-rt', '-rt-debug', '-16k', '-16k-debug', '-64k', '-64k-debug'];
const IGNORED_KERNEL = new Set([
  'kernel.posttrans',
  ...KERNEL_FLAVOURS.flatMap((f) => [`kernel${f}-core.posttrans`, `kernel${f}-modules.posttrans`]),
  'kernel-uek.posttrans',
  'kernel-uek-core.posttrans',
  ...['lt', 'ml'].flatMap((f) => [`kernel-${f}.posttrans`, `kernel-${f}-core.posttrans`, `kernel-${f}-modules.posttrans`]),
]);

/** True when rpm-ostree would not run `<pkg>.<script>` at all. */
export function scriptIsIgnored(pkg: string, script: string, useKernelInstall = false): boolean {
  const id = `${pkg}.${script.replace(/^%/, '')}`;
  if (IGNORED.has(id)) return true;
  return !useKernelInstall && IGNORED_KERNEL.has(id);
}

const LANGPACKS = [
  'set -euo pipefail',
  'archive_template=/usr/lib/locale/locale-archive.tmpl',
  'if [ -s "$archive_template" ]; then',
  '  cp -a "$archive_template" "$archive_template.new"',
  '  mv "$archive_template.new" "$archive_template"',
  '  exec /usr/sbin/build-locale-archive --install-langs "%{_install_langs}"',
  'fi',
  '',
].join('\n');
const ICONV_CACHE = 'exec iconvconfig -o %{_libdir}/gconv/gconv-modules.cache --nostdlib %{_libdir}/gconv\n';
const OS_RELEASE = (variant: string): string => `set -euo pipefail\nln -sf os.release.d/os-release-${variant} /usr/lib/os-release\n`;

/** A built-in replacement: the interpreter and body that run instead; `expand` forces macro expansion. */
export interface ScriptReplacement {
  interpreter: string;
  body: string;
  expand: boolean;
}

/** Shell replacements for known Lua scripts (rpm-ostree's list), by `<pkg>.<script>`. */
const LUA_REPLACEMENTS: Record<string, ScriptReplacement> = {
  'fedora-release-atomichost.post': { interpreter: '/usr/bin/sh', body: OS_RELEASE('atomichost'), expand: false },
  'fedora-release-coreos.post': { interpreter: '/usr/bin/sh', body: OS_RELEASE('coreos'), expand: false },
  'fedora-release-workstation.post': {
    interpreter: '/usr/bin/sh',
    body:
      OS_RELEASE('workstation') +
      'preset=/usr/lib/os.release.d/presets/80-workstation.preset\n' +
      'if [ -f "$preset" ]; then ln -sr "$preset" /usr/lib/systemd/system-preset && systemctl preset -q sshd.socket sshd.service cups.socket cups.path cups.service; fi\n',
    expand: false,
  },
  'fedora-release.post': {
    interpreter: '/usr/bin/sh',
    body: 'set -euo pipefail\n[ -L /usr/lib/os-release ] || ln -s os.release.d/os-release-fedora /usr/lib/os-release\n',
    expand: false,
  },
  'glibc-all-langpacks.posttrans': { interpreter: '/usr/bin/sh', body: LANGPACKS, expand: true },
  'glibc-common.post': { interpreter: '/usr/bin/sh', body: LANGPACKS, expand: true },
  'glibc-common.transfiletriggerin': { interpreter: '/usr/bin/sh', body: '/sbin/ldconfig\n', expand: false },
  'glibc-common.transfiletriggerpostun': { interpreter: '/usr/bin/sh', body: '/sbin/ldconfig\n', expand: false },
  'glibc.post': { interpreter: '/usr/bin/bash', body: ICONV_CACHE, expand: true },
  'glibc.posttrans': { interpreter: '/usr/bin/true', body: '', expand: false },
  'glibc-gconv-extra.post': { interpreter: '/usr/bin/bash', body: ICONV_CACHE, expand: true },
  'crypto-policies.post': {
    interpreter: '/usr/bin/bash',
    body: [
      'cp /usr/share/crypto-policies/default-config /etc/crypto-policies/config',
      'echo DEFAULT > /etc/crypto-policies/state/current',
      'for backend in /usr/share/crypto-policies/DEFAULT/*; do',
      '  ln -sf "$backend" "/etc/crypto-policies/back-ends/$(basename "$backend" .txt).config"',
      'done',
      '',
    ].join('\n'),
    expand: false,
  },
  'authselect-libs.prein': { interpreter: '/usr/bin/bash', body: 'touch /var/lib/rpm-state/authselect.force\n', expand: false },
};

/** The shell replacement rpm-ostree uses for a Lua `<pkg>.<script>`, if any. */
export function luaReplacement(pkg: string, script: string): ScriptReplacement | null {
  return LUA_REPLACEMENTS[`${pkg}.${script}`] ?? null;
}

/** Non-Lua scripts rpm-ostree suppresses on some releases (by release suffix). */
const SUPPRESSED_BY_RELEASE: [string, string][] = [
  ['pam.post', '.el7'],
  ['nvme-cli.post', '.el8_2'],
  ['nvme-cli.post', '.el8'],
];

/** True when `<pkg>.<script>` of this release is suppressed (runs nothing). */
export function scriptIsSuppressed(pkg: string, script: string, release: string): boolean {
  const id = `${pkg}.${script}`;
  return SUPPRESSED_BY_RELEASE.some(([s, suffix]) => s === id && release.endsWith(suffix));
}

/** rpm-ostree's magic comment: a Lua script with `-- rpm-ostree-skip` in its first 10 lines is skipped. */
export function luaScriptHasSkip(body: string): boolean {
  const lines = body.split('\n', 10);
  return lines.some((l) => l.startsWith('-- rpm-ostree-skip'));
}

/** True for rpm's embedded Lua interpreter. */
export function isLua(script: Scriptlet): boolean {
  return script.interpreter[0] === '<lua>';
}

/** Script kinds rpm-ostree runs, with the desc it prints ("%prein" → `<pkg>.prein`). */
export const RUN_KINDS: { kind: ScriptletKind; desc: string; phase: 'pre' | 'post' | 'posttrans' }[] = [
  { kind: 'prein', desc: '%prein', phase: 'pre' },
  { kind: 'post', desc: '%post', phase: 'post' },
  { kind: 'posttrans', desc: '%posttrans', phase: 'posttrans' },
];

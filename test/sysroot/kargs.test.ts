// Kernel-argument editing against the behaviour ostree's own tests require
// (test-admin-deploy-karg.sh: --karg replaces in place, --karg-append adds in order,
// --karg-delete drops one value) and the BLS entry format of ostree 2022.7.

import { describe, expect, it } from 'vitest';
import { KernelArgs, kargsFromProcCmdline, splitCmdline } from '../../src/sysroot/kargs.ts';
import { BootConfig, parseOstreeKarg } from '../../src/sysroot/bootconfig.ts';

describe('KernelArgs', () => {
  it('replace keeps the position of the first value and drops the others', () => {
    const k = KernelArgs.parse('root=LABEL=MOO quiet console=a console=b ostree=/x');
    k.replace('console=c');
    expect(k.toString()).toBe('root=LABEL=MOO quiet console=c ostree=/x');
    k.replace('FOO=BAR');
    expect(k.toString()).toBe('root=LABEL=MOO quiet console=c ostree=/x FOO=BAR');
  });

  it('replace takes everything after the first = as the value (root=LABEL=…)', () => {
    const k = KernelArgs.parse('root=LABEL=MOO quiet');
    k.replace('root=LABEL=FOO');
    expect(k.toString()).toBe('root=LABEL=FOO quiet');
  });

  it('newReplace: KEY=OLD=NEW replaces only that value', () => {
    const k = KernelArgs.parse('console=a console=b');
    k.newReplace('console=b=z');
    expect(k.toString()).toBe('console=a console=z');
    expect(() => k.newReplace('console=q')).toThrow(/Multiple values/);
    expect(() => k.newReplace('console=q=r')).toThrow(/No karg 'console=q' found/);
    expect(() => k.newReplace('nokey=1')).toThrow(/No key 'nokey' found/);
  });

  it('append keeps every value in order (the karg-append expectations)', () => {
    const k = KernelArgs.parse('root=LABEL=MOO quiet FOO=BAR TESTARG=TESTVALUE');
    k.appendArgv(['APPENDARG=VALAPPEND', 'APPENDARG=2NDAPPEND', 'FOO=TESTORDERED', 'APPENDARG=3RDAPPEND']);
    expect(k.toString()).toMatch(/APPENDARG=VALAPPEND .*APPENDARG=2NDAPPEND .*FOO=TESTORDERED .*APPENDARG=3RDAPPEND/);
    expect(k.toArgv().filter((a) => a.startsWith('FOO=')).length).toBe(2);
  });

  it('delete removes one exact value, a bare key only when it is unique', () => {
    const k = KernelArgs.parse('quiet APPENDARG=1 APPENDARG=2 TESTARG=TESTVALUE');
    k.delete('TESTARG=TESTVALUE');
    k.delete('quiet');
    k.delete('APPENDARG=1');
    expect(k.toString()).toBe('APPENDARG=2');
    const multi = KernelArgs.parse('a=1 a=2');
    expect(() => multi.delete('a')).toThrow(/Multiple values/);
    expect(() => multi.delete('b')).toThrow(/No karg/);
  });

  it('appendIfMissing only adds new keys', () => {
    const k = KernelArgs.parse('FOO=1 quiet');
    k.appendIfMissing('FOO=2');
    k.appendIfMissing('BAR=3');
    expect(k.toString()).toBe('FOO=1 quiet BAR=3');
  });

  it('splits on whitespace but keeps quoted values together', () => {
    expect(splitCmdline('  a=1\tb="x y"  c\n')).toEqual(['a=1', 'b="x y"', 'c']);
  });

  it('--karg-proc-cmdline drops the bootloader arguments', () => {
    expect(kargsFromProcCmdline('BOOT_IMAGE=/vmlinuz initrd=/i root=/dev/sda ro').toString()).toBe('root=/dev/sda ro');
  });
});

describe('BootConfig', () => {
  // An entry exactly as ostree 2022.7 wrote it on a scratch sysroot (ostree-format.md §4).
  const entry =
    'title TestOS 42 1.0.9 (ostree:0)\nversion 2\n' +
    'options root=LABEL=rootfs quiet ostree=/ostree/boot.0/testos/7bd091ad6955c0e7ef41bab65adb016275664b55efc0d10a0c8cb263da3c1e4e/0\n' +
    'linux /ostree/testos-7bd091ad6955c0e7ef41bab65adb016275664b55efc0d10a0c8cb263da3c1e4e/vmlinuz-3.6.0\n' +
    'initrd /ostree/testos-7bd091ad6955c0e7ef41bab65adb016275664b55efc0d10a0c8cb263da3c1e4e/initramfs-3.6.0.img\n';

  it('round-trips an ostree entry byte for byte', () => {
    expect(BootConfig.parse(entry).toString()).toBe(entry);
  });

  it('writes keys in ostree order whatever order they were set in', () => {
    const bc = new BootConfig();
    bc.set('linux', '/k');
    bc.set('options', 'o');
    bc.set('title', 't');
    bc.set('version', '1');
    expect(bc.toString()).toBe('title t\nversion 1\noptions o\nlinux /k\n');
    expect(() => bc.set('options', 'a\nb')).toThrow();
  });

  it('parses the ostree= argument and rejects malformed ones', () => {
    const bc = BootConfig.parse(entry);
    const ostreeArg = KernelArgs.parse(bc.get('options')!).get('ostree') as string;
    expect(parseOstreeKarg(ostreeArg)).toEqual({
      bootversion: 0,
      osname: 'testos',
      bootcsum: '7bd091ad6955c0e7ef41bab65adb016275664b55efc0d10a0c8cb263da3c1e4e',
      bootserial: 0,
    });
    expect(parseOstreeKarg('/ostree/boot.0/../x/0')).toBeNull();
    expect(parseOstreeKarg('/ostree/boot.2/os/' + 'a'.repeat(64) + '/0')).toBeNull();
  });
});

describe('kernel arguments with control characters', () => {
  it('CR, newline, tab inside an argument and other controls are refused, naming the argument', () => {
    const k = KernelArgs.parse('quiet');
    for (const bad of ['a=1\rb', 'x\ny', 'ev\u0001il', 'del\u007f', 'tab\tx'])
      for (const op of [() => k.append(bad), () => k.replace(bad), () => KernelArgs.fromArgv([bad])]) {
        expect(op).toThrow(/Invalid kernel argument ".*": contains a control character/);
        expect(op).toThrow(JSON.stringify(bad).slice(1, -1));
      }
    expect(k.toString()).toBe('quiet');
  });

  it('a command line splits on CR like the kernel (whitespace), so a parsed line never carries one', () => {
    expect(KernelArgs.parse('a=1\r\nb=2\fc').toArgv()).toEqual(['a=1', 'b=2', 'c']);
  });

  it('a BLS entry value with a control character is not written', () => {
    const bc = new BootConfig();
    expect(() => bc.set('options', 'quiet\rinit=/bin/sh')).toThrow(/Invalid boot entry value for 'options': control character U\+000D/);
    expect(() => bc.set('title', 'x\u0000')).toThrow(/control character U\+0000/);
    bc.set('title', 'A\tB');
    expect(bc.get('title')).toBe('A\tB');
  });
});

#!/usr/bin/env python3
"""Make the tiny benchmark tree used by BENCH_QUICK=1 (about 4 MB, deterministic, seed 7):
nested folders of small text files, binary files (random and compressible) of 4-64 KiB, a few
of 100-400 KiB, empty files, executables, relative symlinks and hard links, so every code path
of commit/checkout/fsck is exercised in seconds.
Usage: make-quick-tree.py DST   (DST must not exist)"""
import os, random, sys

dst = sys.argv[1]
rng = random.Random(7)
words = ['ostree', 'xylem', 'commit', 'object', 'dirtree', 'dirmeta', 'checksum', 'delta', 'summary',
         'refs', 'remote', 'deploy', 'sysroot', 'boot', 'kernel', 'initramfs', 'config', 'usr', 'etc', 'var']
os.makedirs(dst)
dirs = [dst]
for i in range(40):
    parent = rng.choice(dirs)
    if parent.count(os.sep) - dst.count(os.sep) >= 4:
        parent = dst
    d = os.path.join(parent, f'd{i:02d}-{rng.choice(words)}')
    os.makedirs(d)
    dirs.append(d)
files = []
def write(path, data, mode=0o644):
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)
    files.append(path)
for i in range(300):
    n = rng.randint(20, 800)
    text = ' '.join(rng.choice(words) for _ in range(n)).encode() + b'\n'
    write(os.path.join(rng.choice(dirs), f't{i:03d}.txt'), text, 0o755 if i % 10 == 0 else 0o644)
for i in range(60):
    size = rng.randint(4096, 65536)
    if i % 2:
        data = rng.randbytes(size)
    else:
        data = (rng.randbytes(64) + bytes(192)) * (size // 256)
    write(os.path.join(rng.choice(dirs), f'b{i:02d}.bin'), data, 0o755 if i % 7 == 0 else 0o644)
for i in range(6):
    write(os.path.join(rng.choice(dirs), f'big{i}.dat'), rng.randbytes(rng.randint(100_000, 400_000)))
for i in range(4):
    write(os.path.join(rng.choice(dirs), f'empty{i}'), b'')
for i in range(15):
    d = rng.choice(dirs)
    target = os.path.relpath(rng.choice(files), d)
    os.symlink(target, os.path.join(d, f'link{i:02d}'))
os.symlink('does-not-exist', os.path.join(dst, 'dangling'))
for i in range(5):
    os.link(rng.choice(files), os.path.join(rng.choice(dirs), f'hard{i}'))
os.chmod(dirs[3], 0o700)
total = sum(os.path.getsize(p) for p in files)
print(f'quick tree: {len(files)} files, {total} bytes, {len(dirs)} dirs')

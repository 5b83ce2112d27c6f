"""Swaps two paths atomically, again and again, to race a reader (Linux only).

Usage: python3 rename-exchange.py PATH_A PATH_B

Each step is renameat2(AT_FDCWD, A, AT_FDCWD, B, RENAME_EXCHANGE): at every instant one path holds
what the other held, so a reader of A sees either of the two entries, never a missing one. Prints
"ready" to stdout after the first exchange, then swaps until killed. It exits by itself when its
parent goes away (checked every few thousand steps) and after a hard cap of steps, so a test runner
that dies never leaves it spinning.

Node has no renameat2, hence ctypes. glibc exports renameat2 since 2.28; older C libraries get the
raw system call (numbers from the kernel's syscall tables: x86_64 316, aarch64 276).
"""
import ctypes
import os
import platform
import sys

AT_FDCWD = -100
RENAME_EXCHANGE = 1 << 1  # linux/fs.h
SYSCALL_NUMBERS = {"x86_64": 316, "aarch64": 276}
MAX_STEPS = 50_000_000


def exchanger():
    libc = ctypes.CDLL(None, use_errno=True)
    if hasattr(libc, "renameat2"):
        fn = libc.renameat2
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        return lambda a, b: fn(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
    number = SYSCALL_NUMBERS.get(platform.machine())
    if number is None:
        sys.exit(f"rename-exchange: no renameat2 in libc and no known syscall number for {platform.machine()}")
    fn = libc.syscall
    return lambda a, b: fn(number, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)


def main():
    a, b = (os.fsencode(p) for p in sys.argv[1:3])
    exchange = exchanger()
    parent = os.getppid()
    for step in range(MAX_STEPS):
        if exchange(a, b) != 0:
            err = ctypes.get_errno()
            sys.exit(f"rename-exchange: renameat2 failed: {os.strerror(err)}")
        if step == 0:
            print("ready", flush=True)
        if step % 4096 == 0 and os.getppid() != parent:
            return


main()

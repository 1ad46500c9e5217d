"""With the network on, a sandboxed command may open TCP connections only to a few ports.

A command with the network (setup always, `Bash` when a project allows it) shares the
host's network namespace, hence its loopback services: a repository's `.forgeline/setup.sh`
could otherwise connect to PostgreSQL on `127.0.0.1:5432` (which may trust local users),
read other projects' events and plant a pickled step output, or talk to Redis. A
system call filter cannot look at `connect`'s address, and a private network namespace
would need a user-space network stack, so the kernel's Landlock (TCP rules, Linux 6.7+)
restricts outgoing TCP to the allowed ports (`FORGELINE_SANDBOX_NETWORK_PORTS`, default
80, 443 and 53; ports named in the package-manager URLs setup gets are added). A loopback
service on one of those ports stays reachable: that remains the operator's to avoid.

The rules are applied by a small Python launcher (`python -I -S -c`) that execs `bwrap`,
so they hold for bubblewrap and everything it starts. Without Landlock's TCP rules the
launcher refuses to run the command (fails closed) and says how to opt out.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

REFUSED_EXIT_CODE = 126

_LAUNCHER = r"""
import ctypes, os, struct, sys
ports, program = sys.argv[1], sys.argv[2:]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def fail(why):
    sys.stderr.write("forgeline: the network sandbox (Landlock TCP rules, Linux 6.7+) is "
        "unavailable here: " + why + ". Set FORGELINE_SANDBOX_NETWORK_PORTS=all to allow "
        "every port (the host's loopback services included).\n")
    sys.exit(126)
abi = libc.syscall(444, None, 0, 1)
if abi < 4:
    fail("Landlock ABI %d" % abi)
attr = ctypes.create_string_buffer(struct.pack("<QQ", 0, 2), 16)
fd = libc.syscall(444, attr, 16, 0)
if fd < 0:
    fail(os.strerror(ctypes.get_errno()))
for port in filter(None, ports.split(",")):
    rule = ctypes.create_string_buffer(struct.pack("<QQ", 2, int(port)), 16)
    if libc.syscall(445, fd, 2, rule, 0) != 0:
        fail(os.strerror(ctypes.get_errno()))
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.syscall(446, fd, 0) != 0:
    fail(os.strerror(ctypes.get_errno()))
os.close(fd)
os.execv(program[0], program)
"""
"""landlock_create_ruleset (444) handling only LANDLOCK_ACCESS_NET_CONNECT_TCP (2), one
LANDLOCK_RULE_NET_PORT (2) rule per port (445), no_new_privs (prctl 38), then
landlock_restrict_self (446). The numbers are the same on x86-64 and aarch64."""


def port_launcher(ports: Iterable[int]) -> list[str]:
    """The argument-list prefix that runs a program with TCP connects limited to `ports`."""
    listed = ",".join(str(port) for port in sorted(set(ports)))
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, listed]


def url_ports(environ: Mapping[str, str]) -> set[int]:
    """The explicit ports of URL values (`PIP_INDEX_URL=http://127.0.0.1:3141/...`, proxies)."""
    found: set[int] = set()
    for value in environ.values():
        for word in value.split():
            if "://" not in word:
                continue
            try:
                port = urlsplit(word).port
            except ValueError:
                continue
            if port is not None:
                found.add(port)
    return found

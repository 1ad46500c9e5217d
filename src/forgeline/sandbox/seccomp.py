"""The seccomp filter every sandboxed command runs under: no Unix sockets (DESIGN §9).

"No network" includes the host's Unix sockets (PostgreSQL's `/run/postgresql/.s.PGSQL.5432`,
Docker's, X11's, ...). Hiding their directories is not enough, since a socket can live
anywhere, so bubblewrap installs this classic-BPF program (`bwrap --seccomp FD`) before
it runs the command. It makes these calls fail:

- `socket(AF_UNIX, ...)` with `EACCES`: no new Unix socket, hence no `connect` to a
  host socket by path or abstract name. Pipes and `socketpair` still work
  (`subprocess`, `multiprocessing` with its default `fork` start method, asyncio).
- `socketpair(..., SOCK_DGRAM, ...)` with `EACCES`: an unconnected datagram socket could
  `sendto` any host datagram socket; stream and seqpacket pairs cannot, so they stay.
- `socket(..., IPPROTO_MPTCP)` and `socket(..., IPPROTO_SCTP)` with `EACCES`: Landlock's
  port rules cover plain TCP only, and an MPTCP socket falls back to TCP with any server.
- `sendto`/`sendmsg`/`sendmmsg` with `MSG_FASTOPEN` with `EACCES`: TCP Fast Open opens
  a connection without `connect`, hence around the Landlock port rules of
  `sandbox.netports` (a plain `connect` then `send` still works).
- `io_uring_setup`/`_enter`/`_register` with `ENOSYS`: io_uring can create sockets
  without a `socket` system call (callers fall back to ordinary system calls).
- x32 system calls on x86-64 with `ENOSYS` (a second system-call table), and any call
  made with a foreign architecture's convention (i386 `int 0x80`, 32-bit ARM) kills the
  process, so no other table's `socketcall` gets around the rules.

The program is built here, by hand, from `struct sock_filter` entries; no library.
"""

from __future__ import annotations

import errno
import functools
import platform
import struct
import sys
from dataclasses import dataclass

from forgeline.domain.errors import SandboxUnavailable

# Classic BPF opcodes (linux/filter.h, linux/bpf_common.h).
_LD_W_ABS = 0x00 | 0x00 | 0x20
_JEQ_K = 0x05 | 0x10 | 0x00
_JSET_K = 0x05 | 0x40 | 0x00
_AND_K = 0x04 | 0x50 | 0x00
_RET_K = 0x06 | 0x00

# Return actions (linux/seccomp.h).
_RET_KILL_PROCESS = 0x8000_0000
_RET_ERRNO = 0x0005_0000
_RET_ALLOW = 0x7FFF_0000

# Offsets in `struct seccomp_data`: nr, arch, instruction_pointer, args[6] (little endian).
_NR, _ARCH = 0, 4
_ARG0_LOW, _ARG1_LOW, _ARG2_LOW, _ARG3_LOW = 16, 24, 32, 40

_AF_UNIX = 1
_SOCK_DGRAM = 2
_SOCK_TYPE_MASK = 0xF
_MSG_FASTOPEN = 0x2000_0000
_IPPROTO_SCTP, _IPPROTO_MPTCP = 132, 262
_X32_SYSCALL_BIT = 0x4000_0000


@dataclass(frozen=True)
class _Arch:
    audit_arch: int
    socket: int
    socketpair: int
    sends: tuple[int, int, int]  # sendto, sendmsg, sendmmsg (flags: args 3, 2, 3)
    io_uring: tuple[int, ...]
    has_x32: bool


_IO_URING = (425, 426, 427)  # io_uring_setup, io_uring_enter, io_uring_register
_ARCHES: dict[str, _Arch] = {
    "x86_64": _Arch(
        0xC000_003E, socket=41, socketpair=53, sends=(44, 46, 307), io_uring=_IO_URING, has_x32=True
    ),
    "aarch64": _Arch(
        0xC000_00B7,
        socket=198,
        socketpair=199,
        sends=(206, 211, 269),
        io_uring=_IO_URING,
        has_x32=False,
    ),
}

_Insn = tuple[int, str | int, str | int, int]
"""One instruction before assembly: (code, jump-if-true, jump-if-false, k); jumps are labels."""


def _jeq(value: int, true: str | int, false: str | int = 0) -> _Insn:
    return (_JEQ_K, true, false, value)


def _load(offset: int) -> _Insn:
    return (_LD_W_ABS, 0, 0, offset)


def _ret(action: int) -> _Insn:
    return (_RET_K, 0, 0, action)


def _program(arch: _Arch) -> list[tuple[str | None, _Insn]]:
    deny, nosys = _RET_ERRNO | errno.EACCES, _RET_ERRNO | errno.ENOSYS
    body: list[tuple[str | None, _Insn]] = [
        (None, _load(_ARCH)),
        (None, _jeq(arch.audit_arch, 0, "kill")),
        (None, _load(_NR)),
    ]
    if arch.has_x32:
        body.append((None, (_JSET_K, "nosys", 0, _X32_SYSCALL_BIT)))
    body += [
        (None, _jeq(arch.socket, "socket")),
        (None, _jeq(arch.socketpair, "socketpair")),
        (None, _jeq(arch.sends[0], "flags3")),
        (None, _jeq(arch.sends[1], "flags2")),
        (None, _jeq(arch.sends[2], "flags3")),
        *((None, _jeq(nr, "nosys")) for nr in arch.io_uring),
        (None, _ret(_RET_ALLOW)),
        ("socket", _load(_ARG0_LOW)),
        (None, _jeq(_AF_UNIX, "deny")),
        (None, _load(_ARG2_LOW)),
        (None, _jeq(_IPPROTO_MPTCP, "deny")),
        (None, _jeq(_IPPROTO_SCTP, "deny", "allow")),
        ("socketpair", _load(_ARG1_LOW)),
        (None, (_AND_K, 0, 0, _SOCK_TYPE_MASK)),
        (None, _jeq(_SOCK_DGRAM, "deny", "allow")),
        ("flags2", _load(_ARG2_LOW)),
        (None, (_JSET_K, "deny", "allow", _MSG_FASTOPEN)),
        ("flags3", _load(_ARG3_LOW)),
        (None, (_JSET_K, "deny", "allow", _MSG_FASTOPEN)),
        ("allow", _ret(_RET_ALLOW)),
        ("deny", _ret(deny)),
        ("nosys", _ret(nosys)),
        ("kill", _ret(_RET_KILL_PROCESS)),
    ]
    return body


def _assemble(program: list[tuple[str | None, _Insn]]) -> bytes:
    """Resolve label jumps to relative offsets and pack `struct sock_filter` entries."""
    where = {label: index for index, (label, _) in enumerate(program) if label}

    def offset(target: str | int, index: int) -> int:
        if isinstance(target, int):
            return target
        distance = where[target] - index - 1
        if not 0 <= distance <= 255:
            raise ValueError(f"jump to {target!r} out of range")
        return distance

    packed = [
        struct.pack("<HBBI", code, offset(jt, index), offset(jf, index), k)
        for index, (_, (code, jt, jf, k)) in enumerate(program)
    ]
    return b"".join(packed)


def machine() -> str:
    """This machine's architecture name, as `platform.machine()` gives it."""
    return platform.machine()


@functools.cache
def unix_socket_filter() -> bytes:
    """The compiled filter for this machine (cached).

    Returns:
        The `struct sock_filter` array bubblewrap's `--seccomp` reads.

    Raises:
        SandboxUnavailable: No filter is known for this architecture (the sandbox
            then fails closed rather than run without it).
    """
    arch = _ARCHES.get(machine())
    if arch is None or sys.byteorder != "little":
        raise SandboxUnavailable(
            f"Forgeline's seccomp filter (no Unix sockets in the sandbox) supports only "
            f"x86_64 and aarch64, not {machine()} ({sys.byteorder} endian). Run on a "
            "supported machine, or set FORGELINE_SANDBOX=off to run without the sandbox."
        )
    return _assemble(_program(arch))

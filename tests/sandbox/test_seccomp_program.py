"""The seccomp program itself, run on a small classic-BPF interpreter for every case."""

from __future__ import annotations

import errno
import struct
from collections.abc import Callable, Iterator

import pytest

from forgeline.domain.errors import SandboxUnavailable
from forgeline.sandbox import seccomp

ALLOW, KILL = 0x7FFF_0000, 0x8000_0000
DENIED, NOSYS = 0x0005_0000 | errno.EACCES, 0x0005_0000 | errno.ENOSYS
X86_64, I386, AARCH64, ARM = 0xC000_003E, 0x4000_0003, 0xC000_00B7, 0x4000_0028


def run_bpf(program: bytes, *, arch: int, nr: int, args: tuple[int, ...] = ()) -> int:
    """Evaluate a filter on one `struct seccomp_data` (only the opcodes a filter needs)."""
    padded = (*args, 0, 0, 0, 0, 0, 0)[:6]
    data = struct.pack("<iIQ6Q", nr, arch, 0, *padded)
    insns = [struct.unpack_from("<HBBI", program, at) for at in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        if code == 0x20:
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == 0x54:
            acc &= k
        elif code in (0x15, 0x45):
            hit = acc == k if code == 0x15 else bool(acc & k)
            pc += jt if hit else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


@pytest.fixture
def on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], bytes]]:
    """`on(machine)`: the filter built for that architecture."""

    def use(machine: str) -> bytes:
        monkeypatch.setattr(seccomp, "machine", lambda: machine)
        seccomp.unix_socket_filter.cache_clear()
        return seccomp.unix_socket_filter()

    yield use
    seccomp.unix_socket_filter.cache_clear()


@pytest.mark.parametrize(
    ("nr", "args", "expected"),
    [
        (41, (1, 1, 0), DENIED),  # socket(AF_UNIX, SOCK_STREAM)
        (41, (0x7_0000_0001, 2), DENIED),  # only the low 32 bits of an int count
        (41, (2, 1, 0), ALLOW),  # socket(AF_INET)
        (41, (10, 2, 0), ALLOW),  # socket(AF_INET6, SOCK_DGRAM)
        (53, (1, 1, 0), ALLOW),  # socketpair(AF_UNIX, SOCK_STREAM)
        (53, (1, 5 | 0o2000000, 0), ALLOW),  # SOCK_SEQPACKET | SOCK_CLOEXEC
        (53, (1, 2 | 0o4000, 0), DENIED),  # SOCK_DGRAM | SOCK_NONBLOCK
        (42, (3, 0, 0), ALLOW),  # connect on an existing socket
        (425, (), NOSYS),
        (426, (), NOSYS),
        (427, (), NOSYS),
        (41 | 0x4000_0000, (1, 1, 0), NOSYS),  # x32 socket
        (0 | 0x4000_0000, (), NOSYS),  # any x32 call
        (0, (), ALLOW),  # read
        (59, (), ALLOW),  # execve
    ],
)
def test_x86_64(on: Callable[[str], bytes], nr: int, args: tuple[int, ...], expected: int) -> None:
    program = on("x86_64")
    assert run_bpf(program, arch=X86_64, nr=nr, args=args) == expected


def test_a_foreign_calling_convention_is_killed(on: Callable[[str], bytes]) -> None:
    assert run_bpf(on("x86_64"), arch=I386, nr=102, args=(1,)) == KILL
    assert run_bpf(on("aarch64"), arch=ARM, nr=281, args=(1,)) == KILL


def test_aarch64(on: Callable[[str], bytes]) -> None:
    program = on("aarch64")
    assert run_bpf(program, arch=AARCH64, nr=198, args=(1, 1)) == DENIED
    assert run_bpf(program, arch=AARCH64, nr=198, args=(2, 1)) == ALLOW
    assert run_bpf(program, arch=AARCH64, nr=199, args=(1, 1)) == ALLOW
    assert run_bpf(program, arch=AARCH64, nr=199, args=(1, 2)) == DENIED
    assert run_bpf(program, arch=AARCH64, nr=425) == NOSYS
    assert run_bpf(program, arch=AARCH64, nr=41 | 0x4000_0000) == ALLOW  # no x32 table there
    assert run_bpf(program, arch=X86_64, nr=41) == KILL


def test_an_unknown_architecture_fails_closed(on: Callable[[str], bytes]) -> None:
    with pytest.raises(SandboxUnavailable, match="riscv64"):
        on("riscv64")

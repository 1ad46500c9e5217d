"""SSE delivery latency of `forgeline serve` with many projects and clients.

Starts `forgeline serve` (subprocess, free port, temporary FORGELINE_HOME), creates
projects on sample repositories, connects SSE clients (async httpx2 streams, split
evenly over the projects) to `/api/projects/{id}/events`, then starts each project's
research phase with a scripted model: many turns of cheap tool calls (Glob, Grep,
Read) with a small delay per model call. Latency per event = the client's receive
time minus the event's `ts` (its persist time); both use this machine's clock.
Only events persisted after every client connected are counted (no replay).

Usage: .venv/bin/python bench/sse_latency.py [--quick] [--projects N] [--clients N]
       [--turns N] [--delay S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _wfcommon import (
    median,
    percentile,
    proc_cpu_s,
    proc_status_kib,
    table,
    write_section,
)

FILES = [
    "pagekit/pagekit/pager.py",
    "pagekit/tests/test_pager.py",
    "pagekit/README.md",
    "pagekit/CHANGELOG.md",
    "pagekit/AGENTS.md",
    "pagekit/pagekit/__init__.py",
]
PATTERNS = ["def ", "page", "import", "return", "class ", "assert", "items", "size"]
GLOBS = ["**/*.py", "**/*.md", "pagekit/**", "**/test_*.py"]
# The idle windows: the clients' first reads (their replay of the stored events) end
# within SETTLE_S of connecting, and a window of IDLE_S ends before the first
# keep-alive (15 s after connecting), when the streams of projects with no work end.
IDLE_S = 10.0
SETTLE_S = 2.0
DONE = {"task_completed", "task_failed", "task_cancelled"}


def research_script(turns: int, delay: float) -> dict[str, Any]:
    """A research agent that makes two cheap tool calls per turn, then writes research.md."""
    steps: list[dict[str, Any]] = []
    for i in range(turns):
        calls = [
            {
                "name": "Grep",
                "input": {
                    "pattern": PATTERNS[i % len(PATTERNS)],
                    "output_mode": "count" if i % 2 else "files_with_matches",
                },
            },
            {"name": "Read", "input": {"file_path": FILES[i % len(FILES)]}}
            if i % 3
            else {"name": "Glob", "input": {"pattern": GLOBS[i % len(GLOBS)]}},
        ]
        steps.append({"text": f"Looking around, step {i + 1}.", "tool_calls": calls})
    document = "# Research\n\n## Summary\nBenchmark run.\n"
    steps.append(
        {
            "text": "Writing research.md.",
            "tool_calls": [
                {"name": "Write", "input": {"file_path": "research.md", "content": document}}
            ],
        }
    )
    steps.append({"text": "research.md is written."})
    return {"delay": delay, "agents": {"research": steps}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Client:
    project_id: str
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    samples: list[tuple[float, float, str]] = field(default_factory=list)  # (ts, latency, type)
    finished: bool = False
    last_type: str = ""


async def listen(http: httpx2.AsyncClient, client: Client) -> None:
    """Read the project's SSE stream until its research task ends."""
    url = f"/api/projects/{client.project_id}/events"
    async with http.stream("GET", url, timeout=httpx2.Timeout(5.0, read=None)) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            now = time.time()
            client.connected.set()
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            ts = datetime.fromisoformat(event["ts"]).timestamp()
            client.samples.append((ts, now - ts, event["type"]))
            if event["type"] in DONE:
                client.finished = True
                client.last_type = event["type"]
                return


class Server:
    """`forgeline serve` in a subprocess; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        forgeline = Path(sys.executable).with_name("forgeline")
        # The projects name a scripted model through the API, which the server must allow.
        env = {**os.environ, "FORGELINE_HOME": str(home), "FORGELINE_ALLOW_SCRIPTED": "1"}
        self.log = (home / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            [str(forgeline), "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, http: httpx2.AsyncClient) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"forgeline serve exited with {self.proc.returncode}")
            with contextlib.suppress(httpx2.TransportError):
                if (await http.get("/api/projects")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
        raise SystemExit("forgeline serve did not answer within 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


async def sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], proc_status_kib(pid, "VmRSS"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)


async def measure(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    from forgeline.console.demo import REQUEST, make_sample_repo

    script = home / "sse-script.yaml"
    script.write_text(yaml.safe_dump(research_script(args.turns, args.delay)), encoding="utf-8")
    repos = [make_sample_repo(home / "repos") for _ in range(args.projects)]
    server = Server(home)
    limits = httpx2.Limits(max_connections=args.clients + 20, max_keepalive_connections=20)
    try:
        async with httpx2.AsyncClient(base_url=server.base, limits=limits) as http:
            await server.wait_ready(http)
            rss_idle = proc_status_kib(server.proc.pid, "VmRSS")
            ids = []
            for i, repo in enumerate(repos):
                body = {
                    "project_id": f"sse-{i:02d}",
                    "feature_request": REQUEST,
                    "repositories": [{"url": str(repo)}],
                    "phases": ["research"],
                    "model": f"scripted:{script}",
                }
                (await http.post("/api/projects", json=body)).raise_for_status()
                ids.append(body["project_id"])
            await asyncio.sleep(SETTLE_S)
            base0 = proc_cpu_s(server.proc.pid)
            await asyncio.sleep(IDLE_S)
            base_cpu = proc_cpu_s(server.proc.pid) - base0
            clients = [Client(ids[i % len(ids)]) for i in range(args.clients)]
            tasks = [asyncio.create_task(listen(http, c)) for c in clients]
            await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 60)
            rss_connected = proc_status_kib(server.proc.pid, "VmRSS")
            await asyncio.sleep(SETTLE_S)
            idle0 = proc_cpu_s(server.proc.pid)
            await asyncio.sleep(IDLE_S)
            idle_cpu = proc_cpu_s(server.proc.pid) - idle0
            peak, stop = [rss_connected], asyncio.Event()
            sampler = asyncio.create_task(sample_rss(server.proc.pid, peak, stop))
            start = time.time()
            cpu0 = proc_cpu_s(server.proc.pid)
            for pid in ids:
                (await http.post(f"/api/projects/{pid}/phases/research/start")).raise_for_status()
            _done, pending = await asyncio.wait(tasks, timeout=args.timeout)
            elapsed = time.time() - start
            server_cpu = proc_cpu_s(server.proc.pid) - cpu0
            stop.set()
            await sampler
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            hwm = proc_status_kib(server.proc.pid, "VmHWM")
    finally:
        server.stop()
    samples = [s for c in clients for s in c.samples if s[0] >= start]
    return {
        "clients": clients,
        "samples": samples,
        "elapsed": elapsed,
        "server_cpu": server_cpu,
        "idle_cpu": idle_cpu,
        "base_cpu": base_cpu,
        "rss_idle": rss_idle,
        "rss_connected": rss_connected,
        "rss_peak": peak[0],
        "hwm": hwm,
    }


def report(args: argparse.Namespace, m: dict[str, Any]) -> str:
    lat = [s[1] * 1000 for s in m["samples"]]
    if not lat:
        raise SystemExit("no events were received")
    finished = sum(1 for c in m["clients"] if c.last_type == "task_completed")
    per_project = len(m["samples"]) / max(1, args.clients)
    rows = [
        [
            str(len(lat)),
            f"{per_project:.0f}",
            f"{median(lat):.1f}",
            f"{percentile(lat, 90):.1f}",
            f"{percentile(lat, 99):.1f}",
            f"{max(lat):.1f}",
            f"{finished}/{args.clients}",
        ]
    ]
    mem = [
        [
            f"{m['rss_idle'] / 1024:.0f}",
            f"{m['rss_connected'] / 1024:.0f}",
            f"{m['rss_peak'] / 1024:.0f}",
            f"{m['hwm'] / 1024:.0f}",
            f"{(m['rss_connected'] - m['rss_idle']) / args.clients:.0f}",
        ]
    ]
    lines = [
        f"{args.projects} projects, {args.clients} SSE clients "
        f"({args.clients // args.projects} per project), research phase "
        f"of {args.turns} turns x 2 tool calls (Grep + Read/Glob), "
        f"scripted `delay: {args.delay}` s per model call. Run time (all phases started to "
        f"all clients done): {m['elapsed']:.1f} s; server CPU (user+sys, all threads) in that "
        f"time: {m['server_cpu']:.1f} s ({100 * m['server_cpu'] / m['elapsed']:.0f}% of one "
        "core). One server process (uvicorn, SQLite, local event bus); the clients run in "
        "the benchmark process on the same 2 cores.",
        f"With the clients connected and no project running, the server used "
        f"{m['idle_cpu']:.2f} s CPU in {IDLE_S:.0f} s ({100 * m['idle_cpu'] / IDLE_S:.1f}% of one "
        f"core), measured from {SETTLE_S:.0f} s after the last client connected; before any "
        f"client connected, {m['base_cpu']:.2f} s ({100 * m['base_cpu'] / IDLE_S:.1f}%). The "
        "window ends before the first keep-alive (15 s).",
        "",
        "Latency = client receive time - event `ts` (persist time), in ms:",
        "",
        table(
            [
                "samples",
                "events/client",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "clients saw task_completed",
            ],
            rows,
        ),
        "",
        "Server RSS (MiB; per-client KiB = (connected - idle) / clients):",
        "",
        table(
            [
                "idle",
                f"{args.clients} clients connected",
                "peak during run",
                "VmHWM",
                "KiB per client",
            ],
            mem,
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 projects, 30 clients, 15 turns")
    parser.add_argument("--projects", type=int, default=None)
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--turns", type=int, default=None)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per model call")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds for the run")
    args = parser.parse_args()
    args.projects = args.projects or (3 if args.quick else 10)
    args.clients = args.clients or (30 if args.quick else 100)
    args.turns = args.turns or (15 if args.quick else 40)
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-") as base:
        body = report(args, asyncio.run(measure(args, Path(base))))
    print(body)
    write_section("sse_latency", "sse_latency: live events through `forgeline serve`", body)


if __name__ == "__main__":
    main()

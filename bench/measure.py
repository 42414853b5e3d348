"""Run a command and measure its wall time and the peak memory of its process tree.

Peak memory is the largest sum of resident set sizes (``VmRSS`` in
``/proc/PID/status``) over the process and all its descendants, sampled every
20 ms.  ``/usr/bin/time -v`` would report only the largest single process; the
sum matters when a CLI starts helpers.  Linux only; no dependencies.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.02


@dataclass(frozen=True)
class Measurement:
    """Outcome of one measured command."""

    wall_seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str

    @property
    def peak_rss_gb(self) -> float:
        return self.peak_rss_bytes / 1e9


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # the task ended while we looked
            continue
    return kids


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in bytes."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _rss(p)
        todo += _children(p)
    return total


def run(cmd: list[str], *, cwd: str | Path | None = None, env: dict | None = None) -> Measurement:
    """Run ``cmd`` to completion, sampling the tree's memory while it runs."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    # read the pipes in a thread-free way: communicate() with a timeout polls for us
    out_parts: list[str] = []
    err_parts: list[str] = []
    while True:
        peak = max(peak, tree_rss(proc.pid))
        try:
            out, err = proc.communicate(timeout=POLL_SECONDS)
            out_parts.append(out or "")
            err_parts.append(err or "")
            break
        except subprocess.TimeoutExpired:
            continue
    wall = time.perf_counter() - t0
    return Measurement(wall, peak, proc.returncode, "".join(out_parts), "".join(err_parts))

"""What the benchmarks read of their own process (Linux ``/proc``)."""

from __future__ import annotations


def rss_kib(field: str) -> int:
    """A memory figure of this process in KiB, e.g. ``"VmRSS:"`` (now) or ``"VmHWM:"`` (peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(field)

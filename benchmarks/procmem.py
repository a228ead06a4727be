"""Memory of this process from /proc (Linux), for the speed benchmarks."""

from __future__ import annotations


def status_mb(field: str = "VmRSS") -> float:
    """A ``/proc/self/status`` field in MB: ``VmRSS`` (now) or ``VmHWM`` (peak); NaN if absent."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def reset_peak() -> bool:
    """Reset this process's peak RSS (``clear_refs`` 5); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False

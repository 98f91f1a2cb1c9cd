"""Child processes of the tests and benchmarks (app servers, workers)."""

from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen[str] | subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Stop ``proc``: SIGTERM, then SIGKILL if it is still there after ``timeout`` seconds
    (a server with a browser still connected may not exit: do not hang)."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)

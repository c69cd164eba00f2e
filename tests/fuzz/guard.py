"""``Worker``: one long-lived child process running autodiff cases; a crash or hang in it is
reported as a failure naming the case, and a fresh worker starts for the next one."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

from .worker import receive, send

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


class Crash(AssertionError):
    """The worker died (signal or exit) or hung while running a case."""


class Worker:
    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(TESTS), env.get("PYTHONPATH", "")])
        self.proc = subprocess.Popen([sys.executable, "-m", "fuzz.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, cwd=TESTS, env=env)

    def run(self, case):
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        proc = self.proc
        try:
            send(proc.stdin, case)
            ready, _, _ = select.select([proc.stdout], [], [], self.timeout)
            result = receive(proc.stdout) if ready else None
        except (BrokenPipeError, OSError):
            result = None
        if result is None:
            hung = proc.poll() is None
            if hung:
                proc.kill()
            code = proc.wait()
            self.proc = None
            raise Crash(f"autodiff {'hung on' if hung else f'crashed (exit status {code}) on'} {case!r}")
        return result

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

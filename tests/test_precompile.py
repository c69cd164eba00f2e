"""``python -m autodiff.precompile`` runs its warm-ups into the kernel cache."""

import subprocess
import sys

import pytest

from autodiff import precompile


def test_runs_a_warmup_in_a_child_process():
    out = subprocess.run([sys.executable, "-m", "autodiff.precompile", "mlp", "-j", "1"], check=False,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "mlp: " in out.stdout and "kernel specialisations compiled" in out.stdout


def test_unknown_warmup_is_an_error(capsys):
    with pytest.raises(SystemExit):
        precompile.main(["lstm"])
    assert "unknown warm-ups ['lstm']" in capsys.readouterr().err

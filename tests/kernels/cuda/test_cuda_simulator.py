"""Runs the simulated CUDA kernel tests in a child process with the CUDA simulator on.

The simulator must be enabled before ``numba.cuda`` is first imported, and this process
imports the real ``numba.cuda`` (for the PTX tests), so the simulated tests need their
own interpreter. With the simulator already on, pytest collects ``simulated/`` directly and this test is
skipped as redundant; on a GPU machine it still runs them simulated, besides the real run.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cuda_support import HAVE_NUMBA_CUDA, NO_NUMBA_CUDA

HERE = Path(__file__).parent


@pytest.mark.skipif(not HAVE_NUMBA_CUDA, reason=NO_NUMBA_CUDA)
def test_simulated_kernels_pass_under_the_cuda_simulator():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("the simulator is on in this process: simulated/ is collected directly")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(HERE / "simulated")], check=False, env=env, capture_output=True,
                          text=True,
                          cwd=HERE.parents[2], timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]

"""benchmarks/gpu_*.py: without CUDA they refuse in one line (exit code 2); with ``--device cpu
--tiny`` their whole computation runs on the CPU at a tiny size and prints its figure last.

Timings are never asserted here (they are measured on a GPU and written to RESULTS.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ("gpu_epoch.py", "gpu_gmm.py")


def run(script: str, *args: str, hide_gpus: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if hide_gpus:  # a machine without CUDA, even where there is a GPU
        env["CUDA_VISIBLE_DEVICES"] = ""
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("script", BENCHMARKS)
def test_without_cuda_it_refuses_in_one_line_with_exit_code_2(script):
    done = run(script, hide_gpus=True)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "has none (torch.cuda.is_available() is False)" in lines[0] and "--device cpu --tiny" in lines[0]


@pytest.mark.parametrize("script", BENCHMARKS)
def test_a_device_that_is_neither_cuda_nor_cpu_is_refused(script):
    done = run(script, "--device", "mps", "--tiny", hide_gpus=True)
    assert done.returncode == 2 and done.stderr.strip() == "error: --device must be cuda or cpu, got 'mps'"


@pytest.mark.slow
def test_the_epoch_runs_on_the_cpu_at_a_tiny_size():
    done = run("gpu_epoch.py", "--device", "cpu", "--tiny")
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"1,024-image DCGAN epoch: \d+\.\d{3} s \(fastest of 1\)", last), last
    assert "16 steps per epoch of 1,024 images" in done.stdout


@pytest.mark.slow
def test_the_mixture_runs_on_the_cpu_at_a_tiny_size_and_fits_what_scikit_learn_fits():
    done = run("gpu_gmm.py", "--device", "cpu", "--tiny", "--repeats", "1")
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"GaussianMixture on CPU \(1 thread\) against scikit-learn: \d+\.\dx faster", last), last
    difference = float(re.search(r"max \|log p difference\| = (\S+)", done.stdout).group(1))
    assert difference < 1e-3  # float32 against scikit-learn's float64, same start, same iterations

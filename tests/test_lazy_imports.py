"""scikit-learn and SciPy's optimiser load with the first fit, not with the engine."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from vidseg import Segmenter


def test_importing_the_engine_and_the_runner_loads_no_scikit_learn() -> None:
    code = (
        "import sys, vidseg.engine, vidseg.pipeline, vidseg.apps.convert\n"
        "print(sorted(m for m in ('sklearn', 'scipy.optimize') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_thread_limit_covers_the_lazily_loaded_pools(china: np.ndarray) -> None:
    # The limit controller is built after the fit's libraries are in, so it
    # includes scikit-learn's OpenMP pool (unlimited, k-means sums could differ).
    seg = Segmenter(4, seed=0)
    seg.segment(china)
    apis = {lib["internal_api"] for lib in seg._threads.info()}
    assert "openmp" in apis and "openblas" in apis

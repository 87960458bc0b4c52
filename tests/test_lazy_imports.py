"""scikit-learn and SciPy's optimiser load with the first fit, not with the engine."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from vidseg import Segmenter


def _loaded(imports: str, modules: tuple[str, ...]) -> str:
    """Which of ``modules`` a fresh interpreter has loaded after ``import imports``."""
    code = f"import sys, {imports}\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_importing_the_engine_and_the_runner_loads_no_scikit_learn() -> None:
    imports = "vidseg.engine, vidseg.pipeline, vidseg.apps.convert"
    assert _loaded(imports, ("sklearn", "scipy.optimize")) == "[]"


def test_the_thread_limit_covers_the_lazily_loaded_pools(china: np.ndarray) -> None:
    # The limit controller is built after the fit's libraries are in, so it
    # includes scikit-learn's OpenMP pool (unlimited, k-means sums could differ).
    seg = Segmenter(4, seed=0)
    seg.segment(china)
    apis = {lib["internal_api"] for lib in seg._threads.info()}
    assert "openmp" in apis and "openblas" in apis


def test_the_cli_and_the_dist_package_load_no_dask() -> None:
    imports = "vidseg.cli, vidseg.dist.cluster, vidseg.dist.threads"
    assert _loaded(imports, ("dask", "distributed")) == "[]"

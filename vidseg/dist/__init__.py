"""Running vidseg on a Dask cluster: the cluster, per-task thread budgets, batch tasks.

Nothing here imports Dask at package import time, so ``vidseg --help`` and the
other commands never pay for it; each module imports ``distributed`` inside the
functions that need it.
"""

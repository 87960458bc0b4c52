"""``vidseg batch``: many videos on a Dask cluster (the work is in vidseg.apps.batch)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from .flags import Formatter, add_config_flags, add_verbosity
from .session import config_of, signals_stop

__all__ = ["add_batch"]

_EXAMPLES = """\
examples:
  vidseg batch archive/ --out segmented/                  # local cluster, one worker per core
  vidseg batch 'cams/*/*.mp4' --out seg/ --config zones.yaml   # + what analyze gives
  vidseg batch archive/ --out seg/ --chunk-longer-than 30m     # longer inputs: in chunks
  dask scheduler --host 127.0.0.1 --port 8786 &
  dask worker tcp://127.0.0.1:8786 --nworkers 2 --nthreads 1 --host 127.0.0.1 &
  vidseg batch archive/ --out seg/ --scheduler tcp://127.0.0.1:8786
"""


def add_batch(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``vidseg batch``."""
    batch = sub.add_parser(
        "batch",
        help="convert (and analyse) many videos on a Dask cluster, resumably",
        description="Convert every video INPUTS name (files, directories searched "
        "recursively, globs) into DIR, one folder per input, on a local Dask cluster "
        "(127.0.0.1 only, one worker process per core) or on the one --scheduler names.  "
        "DIR/manifest.json records what is done: a rerun skips it and redoes what changed.",
        epilog=_EXAMPLES,
        formatter_class=Formatter,
    )
    batch.add_argument("inputs", nargs="+", metavar="INPUTS", help="files, directories, globs")
    batch.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    batch.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler (tcp://host:8786); default: a local cluster",
    )
    batch.add_argument(
        "--workers", type=int, metavar="N", help="local worker processes (default: the cores)"
    )
    batch.add_argument(
        "--analyze",
        action="store_true",
        help="also what `vidseg analyze` gives (implied by an analysis section in the config)",
    )
    batch.add_argument(
        "--labels",
        choices=("png", "npz"),
        metavar="FORMAT",
        help="also write label maps (png or npz) into each input's labels/ folder",
    )
    batch.add_argument(
        "--overwrite", action="store_true", help="redo every input, also those already done"
    )
    batch.add_argument(
        "--chunk-longer-than",
        default="10m",
        metavar="DURATION",
        help="convert inputs longer than this (90s, 10m, 1h) in time chunks across the "
        "workers, as `convert --chunks` does; 0 or off: never",
    )
    batch.add_argument(
        "--chunk-length",
        metavar="DURATION",
        help="video per chunk of a long input (default: --chunk-longer-than); at most "
        "twice the cluster's worker threads chunks",
    )
    add_verbosity(batch, opencv=False)
    batch.add_argument("--config", type=Path, help="YAML config file (see config.yaml)")
    add_config_flags(batch)
    batch.set_defaults(run=_run_batch)


def _run_batch(args: argparse.Namespace) -> int:
    from ..apps.batch import BatchOptions, batch, log_summary
    from ..dist.cluster import ClusterConfig
    from ..dist.long_inputs import LongInputs, parse_duration

    cfg = config_of(args)
    long_inputs = LongInputs(
        longer_than_s=parse_duration(args.chunk_longer_than, "--chunk-longer-than"),
        chunk_length_s=None
        if args.chunk_length is None
        else parse_duration(args.chunk_length, "--chunk-length", off=False),
    )
    opts = BatchOptions(
        inputs=args.inputs,
        out=args.out,
        cluster=ClusterConfig(scheduler=args.scheduler, workers=args.workers),
        analyze=args.analyze,
        labels_format=args.labels,
        overwrite=args.overwrite,
        progress=cfg.run.progress and not args.quiet,
        long_inputs=long_inputs,
    )
    stop = threading.Event()
    received: list[int] = []
    with signals_stop(stop, received):
        report = batch(opts, cfg, stop=stop)
    log_summary(report)
    if received:
        return 128 + received[0]
    return 1 if report.failed else 0

"""One long video across Dask workers (issue 10): speed-up and boundary continuity.

1. Speed: one real clip looped to 5 minutes by stream copy (``ffmpeg -stream_loop``,
   keyframes and audio kept), converted by whole ``vidseg convert`` processes:
   without chunks, then ``--chunks N --workers 2`` (a local cluster; its start-up
   included), interleaved, median of the runs.  Speed-up = plain wall / chunked wall.
2. Boundaries (in-process, labelled so): the chunked run is replayed exactly as
   the workers ran it (the same plan, shared palette, spans and one-core engine
   budget), and per frame pair the still-pixel label change (SLC: label flips on
   still pixels / still pixels, a pixel is still when the 5x5 box mean of
   |dB|+|dG|+|dR| is <= 12) and the flicker (mean |output change| / mean |input
   change|) are measured.  Each boundary pair (the last frame of a chunk, the
   first of the next) is set against the clip's median pair, from an unchunked
   run; the rule is <= 1.5x.

    python benchmarks/bench_chunks.py            # 5-minute clip, 3 timed runs each
    python benchmarks/bench_chunks.py --quick    # 30 s clip, one run each
    python benchmarks/bench_chunks.py --set refresh_interval=0   # engine settings

The looped clip is built into a temporary directory and removed at the end.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import media_dir
from bench_whole import timed

from vidseg.apps.chunked import OVERLAP_S, _fps, shared_palette
from vidseg.config import Config
from vidseg.dist.chunks import Chunk, plan_chunks, scan_video
from vidseg.dist.join import match_ids
from vidseg.dist.threads import budget_config
from vidseg.engine import Segmenter
from vidseg.io.sources.file import VideoFileSource
from vidseg.io.sources.span import SpanSource

CLIP = "intel_parking_lot_static.mp4"  # fixed camera, AAC audio, a keyframe every 4.8 s
STILL = 12
RULE = 1.5


def looped(clip: Path, seconds: float, folder: Path) -> Path:
    """``clip`` played over and over for ``seconds``, by stream copy (keyframes, audio kept)."""
    out = folder / f"{clip.stem}_{int(seconds)}s.mp4"
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(clip)]
    subprocess.run([*cmd, "-t", str(seconds), "-c", "copy", str(out)], check=True)
    return out


class PairMeter:
    """SLC and flicker of consecutive frame pairs."""

    def __init__(self) -> None:
        self.slc: list[float] = []
        self.flicker: list[float] = []

    @staticmethod
    def pair(a: tuple, b: tuple) -> tuple[float, float]:
        """(SLC, flicker) of the pair ``a`` -> ``b``, each (image, labels, recoloured)."""
        diff = cv2.absdiff(a[0], b[0])
        still = cv2.blur(diff.astype(np.float32).sum(axis=2), (5, 5)) <= STILL
        n = int(still.sum())
        slc = float((still & (a[1] != b[1])).sum()) / max(n, 1)
        din = float(diff.mean())
        flick = float(cv2.absdiff(a[2], b[2]).mean()) / din if din > 0 else 0.0
        return slc, flick

    def add(self, a: tuple, b: tuple) -> None:
        slc, flick = self.pair(a, b)
        self.slc.append(slc)
        self.flicker.append(flick)


def _state(image: np.ndarray, res: object) -> tuple:
    return image, res.labels, res.recolor()  # type: ignore[attr-defined]


def unchunked_medians(path: Path, cfg: Config) -> tuple[float, float]:
    """Median SLC and flicker of an unchunked run (what ``vidseg convert`` does)."""
    meter, prev = PairMeter(), None
    with Segmenter.from_config(cfg.engine) as seg, VideoFileSource(path, audio=False) as src:
        for frame in src:
            cur = _state(frame.image, seg.segment(frame.image))
            if prev is not None:
                meter.add(prev, cur)
            prev = cur
    return statistics.median(meter.slc), statistics.median(meter.flicker)


def chunked_boundaries(path: Path, plan: list[Chunk], cfg: Config, palette: object) -> list:
    """Replay the chunks as the workers run them; (SLC, flicker) of each boundary pair.

    Labels are compared under the output's ids: each chunk's ids renumbered as
    the join renumbers its statistics (colours matched across the boundary).
    """
    last, last_colors, ids, found = None, None, None, []
    for chunk in plan:
        with Segmenter.from_config(cfg.engine) as seg:
            seg.set_palette(palette)  # type: ignore[arg-type]
            span = SpanSource(
                path,
                first=chunk.lead,
                end=chunk.end,
                key_index=chunk.key_index,
                key_ts=chunk.key_ts,
                pts_range=chunk.pts_range,
            )
            with span:
                for frame in span:
                    res = seg.segment(frame.image)
                    if frame.index == chunk.start:
                        if last_colors is None:
                            ids = np.arange(len(res.palette))
                        else:
                            ids = np.array(match_ids(last_colors, res.palette.tolist()))
                        if last is not None:
                            cur = (frame.image, ids[res.labels], res.recolor())
                            found.append(PairMeter.pair(last, cur))
                    if frame.index == chunk.end - 1:
                        assert ids is not None
                        last = (frame.image, ids[res.labels], res.recolor())
                        last_colors = np.empty_like(res.palette, dtype=np.float64)
                        last_colors[ids] = res.palette
                        last_colors = last_colors.tolist()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 s clip, one run each")
    parser.add_argument("--chunks", type=int, default=4, help="chunks (default 4)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="engine setting"
    )
    args = parser.parse_args()
    seconds, repeats = (30.0, 1) if args.quick else (300.0, 3)
    overrides = dict(item.split("=", 1) for item in args.set)
    flags = [x for k, v in overrides.items() for x in (f"--{k.replace('_', '-')}", v)]
    cfg = budget_config(
        Config().with_overrides(
            {k: float(v) if "." in v else int(v) for k, v in overrides.items()}
        ),
        1,
    )
    with tempfile.TemporaryDirectory(prefix="vidseg-chunks-") as tmp:
        folder = Path(tmp)
        clip = looped(media_dir() / CLIP, seconds, folder)
        index = scan_video(clip)
        base = [sys.executable, "-m", "vidseg", "convert", str(clip), "-q", "--overwrite", *flags]
        plain_cmd = [*base, str(folder / "plain.mp4")]
        chunk_cmd = [*base, str(folder / "chunked.mp4"), "--chunks", str(args.chunks)]
        chunk_cmd += ["--workers", "2"]
        runs: dict[str, list[tuple[float, float]]] = {"plain": [], "chunked": []}
        for _ in range(repeats):
            runs["plain"].append(timed(plain_cmd))
            runs["chunked"].append(timed(chunk_cmd))
        wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
        n = index.frames
        print(
            f"\n{CLIP} looped to {seconds:.0f} s: {n} frames; whole processes, median of {repeats}"
        )
        print(f"{'method':40} {'wall s':>7} {'fps':>7} {'cpu s':>7}")
        labels = {
            "plain": "vidseg convert (no chunks)",
            "chunked": f"vidseg convert --chunks {args.chunks} --workers 2",
        }
        for key, label in labels.items():
            print(f"{label:40} {wall[key]:7.2f} {n / wall[key]:7.1f} {cpu[key]:7.2f}")
        print(f"speed-up (plain wall / chunked wall): {wall['plain'] / wall['chunked']:.2f}x")

        overlap = max(0, round(OVERLAP_S * _fps(clip)))
        plan = plan_chunks(index, args.chunks, overlap=overlap)
        palette = shared_palette(clip, index, cfg)
        med_slc, med_flick = unchunked_medians(clip, cfg)
        found = chunked_boundaries(clip, plan, cfg, palette)
        print("\nboundaries (in-process replay of the chunks; the clip's median: unchunked run)")
        print(f"clip median: SLC {100 * med_slc:.2f}%, flicker {med_flick:.3f}; rule <= {RULE}x")
        print(
            f"{'boundary frame':>14} {'SLC %':>7} {'x med':>6} {'flicker':>8} {'x med':>6}  verdict"
        )
        for chunk, (slc, flick) in zip(plan[1:], found, strict=True):
            rs, rf = slc / max(med_slc, 1e-9), flick / max(med_flick, 1e-9)
            ok = "met" if rs <= RULE and rf <= RULE else "MISSED"
            print(f"{chunk.start:14d} {100 * slc:7.2f} {rs:6.2f} {flick:8.3f} {rf:6.2f}  {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

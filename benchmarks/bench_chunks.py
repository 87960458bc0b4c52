"""One long video across Dask workers (issue 10): speed-up and boundary continuity.

1. Speed: one real clip looped to 5 minutes by stream copy (``ffmpeg -stream_loop``,
   keyframes and audio kept), converted by whole ``vidseg convert`` processes:
   without chunks, then ``--chunks N --workers 2`` (a local cluster; its start-up
   included), interleaved, median of the runs.  Speed-up = plain wall / chunked wall.
2. Boundaries: the chunked run logs, for each hand-over from one chunk's run to
   the next one's, that frame pair's still-pixel label change (SLC: label flips on
   still pixels / still pixels, a pixel is still when the 5x5 box mean of
   |dB|+|dG|+|dR| is <= 12) and flicker (mean |output change| / mean |input
   change|), ids matched by colour.  Each is set against the clip's median pair,
   from an unchunked run of the same engine settings (in-process, one-core
   budget, as the workers); the rule is <= 1.5x.  (Everywhere else the output's
   frame pairs are pairs of one run: the next chunk repeats the hand-over run
   bit for bit.)

    python benchmarks/bench_chunks.py            # 5-minute clip, 3 timed runs each
    python benchmarks/bench_chunks.py --quick    # 30 s clip, one run each
    python benchmarks/bench_chunks.py --set refresh_interval=0   # engine settings

The looped clip is built into a temporary directory and removed at the end.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import media_dir
from bench_whole import timed

from vidseg.config import Config
from vidseg.dist.chunks import scan_video
from vidseg.dist.handover import pair_metrics
from vidseg.dist.threads import budget_config
from vidseg.engine import Segmenter
from vidseg.io.sources.file import VideoFileSource

CLIP = "intel_parking_lot_static.mp4"  # fixed camera, AAC audio, a keyframe every 4.8 s
RULE = 1.5


def looped(clip: Path, seconds: float, folder: Path) -> Path:
    """``clip`` played over and over for ``seconds``, by stream copy (keyframes, audio kept)."""
    out = folder / f"{clip.stem}_{int(seconds)}s.mp4"
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(clip)]
    subprocess.run([*cmd, "-t", str(seconds), "-c", "copy", str(out)], check=True)
    return out


def _state(image: np.ndarray, res: object) -> tuple:
    return image, res.labels, res.recolor()  # type: ignore[attr-defined]


def unchunked_medians(path: Path, cfg: Config) -> tuple[float, float]:
    """Median SLC and flicker of an unchunked run (what ``vidseg convert`` does)."""
    pairs, prev = [], None
    with Segmenter.from_config(cfg.engine) as seg, VideoFileSource(path, audio=False) as src:
        for frame in src:
            cur = _state(frame.image, seg.segment(frame.image))
            if prev is not None:
                pairs.append(pair_metrics(prev, cur))
            prev = cur
    return statistics.median(s for s, _ in pairs), statistics.median(f for _, f in pairs)


HANDOVER = re.compile(r"hands over at frame (\d+) \(SLC ([0-9.]+)%, flicker ([0-9.]+)\)")


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
        base = [sys.executable, "-m", "vidseg", "convert", str(clip), "--overwrite", *flags]
        plain_cmd = [*base, str(folder / "plain.mp4"), "-q"]
        chunk_cmd = [*base, str(folder / "chunked.mp4"), "--chunks", str(args.chunks)]
        chunk_cmd += ["--workers", "2"]
        runs: dict[str, list[tuple[float, float]]] = {"plain": [], "chunked": []}
        handovers: list[tuple[int, float, float]] = []
        for _ in range(repeats):
            runs["plain"].append(timed(plain_cmd))
            # exec: the shell only sends the log to a file, then becomes the command.
            log = folder / "chunked.log"
            runs["chunked"].append(timed(["bash", "-c", 'exec "$@" 2>"$0"', str(log), *chunk_cmd]))
            text = log.read_text()
            handovers = [
                (int(m[1]), float(m[2]) / 100, float(m[3])) for m in HANDOVER.finditer(text)
            ]
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

        med_slc, med_flick = unchunked_medians(clip, cfg)
        print("\nhand-overs (as the chunked run logged them; the clip's median: unchunked run)")
        print(f"clip median: SLC {100 * med_slc:.2f}%, flicker {med_flick:.3f}; rule <= {RULE}x")
        print(f"{'frame':>6} {'SLC %':>7} {'x med':>6} {'flicker':>8} {'x med':>6}  verdict")
        for frame, slc, flick in sorted(handovers):
            rs, rf = slc / max(med_slc, 1e-9), flick / max(med_flick, 1e-9)
            ok = "met" if rs <= RULE and rf <= RULE else "MISSED"
            print(f"{frame:6d} {100 * slc:7.2f} {rs:6.2f} {flick:8.3f} {rf:6.2f}  {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

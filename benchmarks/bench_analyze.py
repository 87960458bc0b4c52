"""`vidseg analyze` speed against its baselines, side by side in one run, as whole processes.

On a 720p H.264 file of 1,000+ frames (the shared traffic clip scaled to
1280x720 and looped; built once and cached) it times, interleaved, median of 3:

* ``ffmpeg decode``   ``ffmpeg -threads 1 -i FILE -f null -``: decoding alone, one thread;
* ``vidseg analyze``  ``vidseg analyze FILE --config C --stats x.ndjson`` with one zone
                      and one mask (statistics, maps, no video);
* ``vidseg convert``  ``vidseg convert FILE out.mp4 --stats x.csv``.

Every row is a whole process (start-up included: what a user waits for).  The
targets: analyze at least 0.45x the decode's fps and 1.5x convert's.  Then, in
process, what the analysis adds per frame in the writer thread (zone
statistics of every zone in one pass, the maps) and what ``segment()`` costs.

    python benchmarks/bench_analyze.py            # 1,200 frames (a few minutes)
    python benchmarks/bench_analyze.py --quick    # 300 frames, a smoke run
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import media_dir

REPEATS = 3
CLIP = "o4n_traffic_topdown_static.mp4"
CONFIG = """\
run:
  progress: false
analysis:
  zones:
    - name: lane
      units: relative
      points: [[0.10, 0.20], [0.55, 0.20], [0.55, 0.80], [0.10, 0.80]]
  masks:
    - units: pixels
      points: [[0, 0], [400, 0], [400, 60], [0, 60]]
"""


def build_clip(frames: int, cache: Path) -> Path:
    """The shared traffic clip at 1280x720, looped to ``frames`` frames, H.264, no audio."""
    path = cache / f"traffic720p_{frames}.mp4"
    if path.is_file():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial.mp4")
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1",
            "-i", str(media_dir() / CLIP), "-an", "-vf", "scale=1280:720",
            "-frames:v", str(frames), "-c:v", "libx264", "-preset", "fast", "-crf", "20",
            "-pix_fmt", "yuv420p", str(tmp),
        ],
        check=True,
    )  # fmt: skip
    tmp.replace(path)
    return path


def timed(cmd: list[str]) -> float:
    """Wall time of one whole process (it must succeed)."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def in_process(clip: Path, config: Path, n: int) -> dict[str, float]:
    """Median in-process costs per frame (ms): segment(), zone statistics, maps."""
    from vidseg.analysis.maps import MapAccumulator
    from vidseg.analysis.zonestats import ZoneLayout
    from vidseg.config import load_config
    from vidseg.engine import Segmenter

    cfg = load_config(config)
    layout = ZoneLayout.build(cfg.analysis, 1280, 720)
    seg = Segmenter.from_config(cfg.engine)
    seg.set_mask(layout.ignore)
    maps = MapAccumulator(1280, 720, layout.ignore)
    cost: dict[str, list[float]] = {"segment": [], "zones": [], "maps": []}
    with av.open(str(clip)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= n:
                break
            image = frame.to_ndarray(format="bgr24")
            t0 = time.perf_counter()
            res = seg.segment(image)
            t1 = time.perf_counter()
            layout.measure(res.labels, res.n_clusters)
            t2 = time.perf_counter()
            maps.update(res.labels, image, res.palette)
            t3 = time.perf_counter()
            if i >= 3:  # past the first frames' compilation and seeding
                for key, dt in zip(cost, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                    cost[key].append(dt * 1000)
    return {key: statistics.median(v) for key, v in cost.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 frames instead of 1,200")
    args = parser.parse_args()
    frames = 300 if args.quick else 1200
    clip = build_clip(frames, Path(tempfile.gettempdir()) / "vidseg-bench-cache")
    with tempfile.TemporaryDirectory(prefix="vidseg-bench-analyze-") as tmp:
        work = Path(tmp)
        config = work / "analyze.yaml"
        config.write_text(CONFIG)
        vidseg = [sys.executable, "-m", "vidseg"]
        commands = {
            "ffmpeg decode": ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1",
                              "-i", str(clip), "-f", "null", "-"],
            "vidseg analyze": [*vidseg, "analyze", str(clip), "--config", str(config),
                               "--stats", str(work / "x.ndjson"), "--overwrite", "-q"],
            "vidseg convert": [*vidseg, "convert", str(clip), str(work / "out.mp4"),
                               "--stats", str(work / "x.csv"), "--overwrite", "-q",
                               "--no-progress"],
        }  # fmt: skip
        # Warm the numba cache and the page cache outside the timings.
        timed([*commands["vidseg analyze"][:5], "--config", str(config), "--max-frames", "5", "-q"])
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(REPEATS):
            for name, cmd in commands.items():
                times[name].append(timed(cmd))
        report(frames, clip, times)
        costs = in_process(clip, config, min(frames, 200))
    print(
        f"in process, median ms per 720p frame: segment() {costs['segment']:.2f}, "
        f"zone statistics (2 zones incl. frame, 1 mask) {costs['zones']:.3f}, "
        f"maps {costs['maps']:.3f}"
    )
    return 0


def report(frames: int, clip: Path, times: dict[str, list[float]]) -> None:
    """Print the whole-process table and the targets."""
    median = {name: statistics.median(t) for name, t in times.items()}
    fps = {name: frames / t for name, t in median.items()}
    decode, analyze, convert = fps["ffmpeg decode"], fps["vidseg analyze"], fps["vidseg convert"]
    print(f"720p H.264, {frames} frames ({clip.name}), whole processes, median of {REPEATS}:")
    print(f"{'method':16} {'s':>7} {'fps':>7} {'x decode':>9}  runs (s)")
    for name, t in median.items():
        runs = " ".join(f"{v:.2f}" for v in times[name])
        print(f"{name:16} {t:7.2f} {fps[name]:7.1f} {fps[name] / decode:9.2f}  {runs}")
    print()
    ok_dec, ok_conv = analyze >= 0.45 * decode, analyze >= 1.5 * convert
    print(
        f"targets: analyze {analyze / decode:.2f}x decode (>= 0.45: "
        f"{'met' if ok_dec else 'MISSED'}), {analyze / convert:.2f}x convert (>= 1.5: "
        f"{'met' if ok_conv else 'MISSED'})"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

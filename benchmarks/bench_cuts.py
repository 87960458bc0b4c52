"""Hard scene cuts: caught on their first frame, fit back within the quality bar.

For every case of ``_cut_cases`` (cuts between similar shots, a jump of a moved
camera, a cut during a pan, and look-alikes that are not cuts: a flash, fast
pans), prints cuts caught / present, false cuts, and the frames the fit takes
to meet the quality bar after each cut (0 = on the cut frame itself), side by
side with ffmpeg's scene score (``select='gt(scene,0.3)'``) on the same frames.

Quality bar (per frame, OkLab x 100): ratio = WCSS of the labels / WCSS of a
scikit-learn ``KMeans(k, n_init=4)`` fitted on a 20k-pixel sample of that frame
<= 1.02, or dRMS = sqrt(WCSS/N) - sqrt(WCSS_ref/N) <= 0.05.

    python benchmarks/bench_cuts.py            # every case
    python benchmarks/bench_cuts.py --quick    # the three cut cases only
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _metrics
from _cut_cases import CUT_CASES, cut_case

from vidseg import Segmenter

K = 8
RATIO_BAR = 1.02
DRMS_BAR = 0.05
RECOVER_WITHIN = 2


def quality(
    frame: np.ndarray, labels: np.ndarray, ref_cache: dict[int, float], i: int
) -> tuple[float, float]:
    """(ratio, dRMS) of ``labels`` on ``frame`` against the KMeans(n_init=4) reference."""
    x = _metrics.frame_pixels(frame, "oklab")
    own = _metrics.wcss(x, labels, K)
    if i not in ref_cache:
        ref_cache[i] = _metrics.reference_wcss(x, K, sample=20000, n_init=4)
    ref = ref_cache[i]
    n = len(x)
    ratio = own / ref if ref > 0 else 1.0
    return ratio, float(np.sqrt(own / n) - np.sqrt(ref / n))


def meets_bar(ratio: float, drms: float) -> bool:
    """The issue's per-frame quality bar."""
    return ratio <= RATIO_BAR or drms <= DRMS_BAR


def ffmpeg_scene_cuts(frames: list[np.ndarray], threshold: float = 0.3) -> list[int] | None:
    """Frames ffmpeg's scene score flags (near-lossless H.264 of the same frames)."""
    import av

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.mkv"
        h, w = frames[0].shape[:2]
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=25, options={"crf": "8", "preset": "ultrafast"})
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv444p"
            for image in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        try:
            proc = subprocess.run(
                [
                    "ffmpeg",
                    "-hide_banner",
                    "-i",
                    str(path),
                    "-vf",
                    f"select='gt(scene,{threshold})',showinfo",
                    "-f",
                    "null",
                    "-",
                ],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except FileNotFoundError:
            return None
    return [round(float(t) * 25) for t in re.findall(r"pts_time:\s*([\d.]+)", proc.stderr)]


def run_case(name: str) -> dict[str, object]:
    """Segment one case; count caught and false cuts and the frames to recover."""
    clip = cut_case(name)
    seg = Segmenter(K, seed=0)
    flagged: list[int] = []
    labels: dict[int, np.ndarray] = {}
    watch = {c + d for c in clip.cuts for d in range(RECOVER_WITHIN + 1)}
    for i, frame in enumerate(clip.frames):
        res = seg.segment(frame)
        if res.scene_cut and i > 0:
            flagged.append(i)
        if i in watch:
            labels[i] = res.labels
    refs: dict[int, float] = {}
    recover: list[int | None] = []
    for c in clip.cuts:
        took = None
        for d in range(RECOVER_WITHIN + 1):
            ratio, drms = quality(clip.frames[c + d], labels[c + d], refs, c + d)
            if meets_bar(ratio, drms):
                took = d
                break
        recover.append(took)
    ff = ffmpeg_scene_cuts(clip.frames)
    return {
        "case": name,
        "frames": len(clip.frames),
        "cuts": list(clip.cuts),
        "caught": sorted(set(flagged) & set(clip.cuts)),
        "false": sorted(set(flagged) - set(clip.cuts)),
        "recover": recover,
        "ffmpeg": ff,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the three cut cases only")
    args = parser.parse_args(argv)
    names = list(CUT_CASES)[:3] if args.quick else list(CUT_CASES)
    rows = [run_case(n) for n in names]
    print(
        f"{'case':16s} {'frames':>6s} {'cuts':>5s} {'caught':>7s} {'false':>6s}  "
        f"{'frames to recover':18s} {'ffmpeg scene>0.3 caught/false'}"
    )
    ok = True
    for r in rows:
        cuts, caught, false = r["cuts"], r["caught"], r["false"]
        rec = ",".join("-" if v is None else str(v) for v in r["recover"]) or "-"
        ff = r["ffmpeg"]
        ff_text = (
            "n/a"
            if ff is None
            else f"{len(set(ff) & set(cuts))}/{len(cuts)}, {len(set(ff) - set(cuts))} false"
        )
        print(
            f"{r['case']:16s} {r['frames']:6d} {len(cuts):5d} {len(caught):7d} {len(false):6d}  "
            f"{rec:18s} {ff_text}"
        )
        ok &= len(caught) == len(cuts) and not false and None not in r["recover"]
    print()
    print(
        f"  [{'met   ' if ok else 'MISSED'}] every cut flagged on its first frame, no false cut, "
        f"quality bar met within {RECOVER_WITHIN} frames"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

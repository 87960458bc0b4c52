"""Hard cuts between similar shots are caught on their first frame; look-alikes are not cuts.

The cases are built from the shared clips by ``benchmarks/_cut_cases.py`` (the same
ones ``benchmarks/bench_cuts.py`` measures): two similar static cameras
alternating, a jump of a moved camera, a cut during a pan, a one-frame flash and
fast pans.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from media import MEDIA_DIR

from vidseg import Segmenter
from vidseg.engine.fitting import layout_cells, structure_change
from vidseg.io.sources import ArraySource
from vidseg.pipeline import run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

pytestmark = pytest.mark.skipif(
    not (MEDIA_DIR / "o4n_horses_panning.mp4").is_file(), reason="shared media not found"
)


def _flags(name: str) -> tuple[list[int], list[int], list]:
    from _cut_cases import cut_case

    clip = cut_case(name)
    seg = Segmenter(8, seed=0)
    results = [seg.segment(f) for f in clip.frames]
    flagged = [i for i, r in enumerate(results) if r.scene_cut and i > 0]
    return flagged, list(clip.cuts), results


@pytest.mark.parametrize("name", ["similar_static", "jump_moved", "cut_in_pan"])
def test_every_cut_is_flagged_on_its_first_frame(name: str) -> None:
    flagged, cuts, results = _flags(name)
    assert flagged == cuts
    # The re-seeded palette fits the new shot at once: its fit error is back to the
    # level of the shot's own later frames, not the previous shot's palette's.
    for c in cuts:
        assert results[c].inertia <= 1.5 * np.median([r.inertia for r in results[c + 3 : c + 10]])


@pytest.mark.parametrize("name", ["flash", "fast_pan", "fast_drive"])
def test_flash_and_fast_pans_are_not_cuts(name: str) -> None:
    flagged, cuts, _ = _flags(name)
    assert cuts == [] and flagged == []


def test_layout_change_ignores_tone_and_sees_reshuffles() -> None:
    rng = np.random.default_rng(0)
    h, w = 90, 160
    positions = np.sort(rng.choice(h * w, 4096, replace=False))
    cells = layout_cells(positions, h, w)
    # A picture of two flat halves with a little texture, sampled at the positions.
    _, xx = np.divmod(positions, w)
    light = 40 + 20 * (xx >= w // 2) + rng.uniform(0, 2, len(positions))
    x = np.stack([light, rng.uniform(-5, 5, len(light)), rng.uniform(-5, 5, len(light))], 1)
    x = x.astype(np.float32)
    toned = x.copy()
    toned[:, 0] = 100 * (x[:, 0] / 100) ** 0.5  # any monotone tone curve
    pixels, grid = structure_change(toned, x, "oklab", cells)
    assert pixels == pytest.approx(0.0, abs=1e-9)
    assert grid < 0.01  # cell means are rounded to whole units, so ties may shift
    pixels, grid = structure_change(x[::-1].copy(), x, "oklab", cells)  # another layout
    assert pixels > 0.5 and grid > 0.5
    noisy = x.copy()
    noisy[:, 0] += rng.normal(0, 1.5, len(x))  # sensor noise reshuffles pixels, not cells
    pixels, grid = structure_change(noisy, x, "oklab", cells)
    assert pixels > 0.05 and grid < 0.05
    flat = np.full_like(x, 50.0)
    assert structure_change(flat, x, "oklab", cells) is None  # nothing to rank
    assert structure_change(x, None, "oklab", cells) is None


def test_summary_counts_the_first_frame_like_the_statistics() -> None:
    from _cut_cases import cut_case

    clip = cut_case("cut_in_pan")
    flags: list[bool] = []
    summary = run(
        ArraySource(clip.frames, fps=25),
        Segmenter(8, seed=0),
        [],
        on_frame=lambda res, s: flags.append(res.stats.scene_cut),
    )
    assert flags[0] and flags[35]
    assert summary.scene_cuts == sum(flags) == 2

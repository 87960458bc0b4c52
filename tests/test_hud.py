"""The preview window's HUD: a pure function, tested without a display."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from vidseg.io.hud import HudInfo, bar_layout, draw_hud
from vidseg.render import fixed_palette


def _info(shares: list[float], **kw: object) -> HudInfo:
    k = len(shares)
    return HudInfo(
        fps=29.9,
        latency_ms=24.0,
        n_clusters=k,
        view="recolor",
        shares=np.array(shares),
        colors_bgr=fixed_palette(k),
        **kw,  # type: ignore[arg-type]
    )


def test_bars_have_the_cluster_colours_and_proportional_lengths() -> None:
    shares = [0.5, 0.25, 0.15, 0.1]
    info = _info(shares)
    image = np.full((540, 960, 3), 128, np.uint8)
    out = draw_hud(image, info)
    bars = bar_layout(info, image.shape[:2])
    assert [b.cluster for b in bars] == [0, 1, 2, 3]
    longest = bars[0].width
    for bar, share, color in zip(bars, shares, fixed_palette(4), strict=True):
        assert bar.width == pytest.approx(longest * share / 0.5, abs=1)
        # The middle of the bar is painted exactly in the cluster's colour.
        mid = out[bar.y + bar.height // 2, bar.x + bar.width // 2]
        np.testing.assert_array_equal(mid, color)
        # Past the bar's end the panel is dark grey, not the colour.
        after = out[bar.y + bar.height // 2, bar.x + bar.width + 2]
        assert after.max() < 100
    assert np.all(image == 128)  # the input is not painted on


def test_sixty_four_clusters_fit_without_overlap() -> None:
    info = _info(list(np.full(64, 1 / 64)))
    bars = bar_layout(info, (720, 1280))
    assert len(bars) == 64 and all(b.height >= 1 for b in bars)
    assert all(a.y + a.height <= b.y for a, b in itertools.pairwise(bars))
    assert bars[-1].y + bars[-1].height <= 720
    assert len({b.width for b in bars}) == 1  # equal shares, equal bars


def test_hidden_hud_leaves_the_frame_alone_but_pause_and_messages_show() -> None:
    image = np.full((360, 640, 3), 200, np.uint8)
    hidden = draw_hud(image, _info([0.6, 0.4], show_stats=False))
    np.testing.assert_array_equal(hidden, image)
    paused = draw_hud(image, _info([0.6, 0.4], show_stats=False, paused=True))
    assert (paused[:40, -120:] != 200).any() and (paused[:, :320] == 200).all()
    said = draw_hud(image, _info([0.6, 0.4], show_stats=False, message="snapshot: x"))
    assert (said[-40:, :200] != 200).any()
    keys = draw_hud(image, _info([0.6, 0.4], show_keys=True))
    assert (keys[150:210, 250:390] < 200).all()  # the key map's panel darkens the centre


def test_files_show_the_position_instead_of_latency() -> None:
    image = np.zeros((360, 640, 3), np.uint8)
    live = _info([1.0])
    played = dataclasses.replace(live, latency_ms=None, position_s=75.3)
    assert not np.array_equal(draw_hud(image, live), draw_hud(image, played))

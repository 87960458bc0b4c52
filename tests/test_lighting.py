"""The lighting guard: frame-wide changes re-baseline instead of firing; real changes still fire.

The acceptance tests lay a brightness ramp, an exposure step and a switch to
greyscale over 11 s of the real pedestrian clip (where nobody walks on the
watched grass), and run them through the real pipeline with two rules that
watch the grass for change: any cluster, and the grass's own colour.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from tests.events_media import PEDESTRIANS, clip, run_rules
from vidseg.analysis.lighting import LightingGuard, cell_coverage
from vidseg.analysis.rules_config import LightingSettings, parse_events_settings
from vidseg.engine import Segmenter
from vidseg.io.demo import demo_frames

GRASS = [[0.05, 0.6], [0.5, 0.6], [0.5, 0.95], [0.05, 0.95]]
CHANGE_AT = 5.0  # seconds into the excerpt


def _gain(image: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(image * gain, 0, 255).astype(np.uint8)


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def ramp(t: float, image: np.ndarray) -> np.ndarray:
    """A light dimmed up: x1.6 over 3 s."""
    return _gain(image, 1 + 0.6 * float(np.clip((t - CHANGE_AT) / 3, 0, 1)))


def step(t: float, image: np.ndarray) -> np.ndarray:
    """An exposure step: x1.4 at once."""
    return _gain(image, 1.4) if t >= CHANGE_AT else image


def dim(t: float, image: np.ndarray) -> np.ndarray:
    """The exposure steps down: x0.75 at once (too little for the engine to call it a cut)."""
    return _gain(image, 0.75) if t >= CHANGE_AT else image


def greyscale(t: float, image: np.ndarray) -> np.ndarray:
    """The camera switches to infrared: the colour drains out of everything at once."""
    return _grey(image) if t >= CHANGE_AT else image


def enters(t: float, image: np.ndarray) -> np.ndarray:
    """A purple box slides onto the grass from the left (1 s), stays, leaves at 9 s."""
    if not CHANGE_AT <= t < 9.0:
        return image
    h, w = image.shape[:2]
    out = image.copy()
    x = int(w * (0.05 + min(1.0, t - CHANGE_AT) * 0.2))
    cv2.rectangle(out, (x - w // 6, int(0.65 * h)), (x + w // 8, int(0.92 * h)), (200, 60, 160), -1)
    return out


@pytest.fixture(scope="module")
def excerpt() -> tuple[list[np.ndarray], float, list[dict]]:
    """11 s of the pedestrian clip (20-31 s) at 5 fps, and the two rules watching the grass."""
    images, fps = clip(PEDESTRIANS, scale=0.5, step=2, start_s=20.0, stop_s=31.0)
    # The grass's colour as the segmented view shows it (what a user would pick).
    seg = Segmenter(8, seed=0).segment(images[0])
    h, w = images[0].shape[:2]
    grass = np.bincount(seg.labels[int(0.6 * h) :, int(0.05 * w) : w // 2].ravel()).argmax()
    b, g, r = (int(v) for v in seg.palette[grass])
    common = {"trigger": "change", "enter": 0.2, "exit": 0.1, "min_duration_s": 0.5}
    rules = [
        {"name": "grass-any", "zone": "grass", "clusters": "any", **common},
        {"name": "grass-colour", "zone": "grass", "clusters": f"#{r:02x}{g:02x}{b:02x}", **common},
    ]
    return images, fps, rules


def _run(excerpt, tmp_path, *changes, settings=None):
    images, fps, rules = excerpt
    changed = []
    for i, image in enumerate(images):
        for change in changes:
            image = change(i / fps, image)
        changed.append(image)
    return run_rules(changed, fps, {"grass": GRASS}, rules, tmp_path, settings=settings)


@pytest.mark.parametrize("change", [ramp, step, dim, greyscale])
def test_lighting_changes_fire_no_event_and_are_flagged(excerpt, tmp_path, change, caplog):
    caplog.set_level(logging.INFO, logger="vidseg.analysis.lighting")
    out = _run(excerpt, tmp_path, change)
    assert out.records == []
    fps = excerpt[1]
    flagged = [i / fps for i, f in enumerate(out.lighting) if f]
    assert flagged, "the change was not flagged as lighting"
    assert CHANGE_AT <= flagged[0] <= CHANGE_AT + 1.5
    assert not any(out.lighting[: int(CHANGE_AT * fps)])  # nothing before it
    assert caplog.text.count("lighting change at") == 1  # one line per episode
    assert out.sink.guard.episodes == 1


@pytest.mark.parametrize("change", [ramp, step, dim, greyscale])
def test_without_the_guard_they_fire(excerpt, tmp_path, change):
    off = parse_events_settings({"events": {"lighting": {"enabled": False}}})
    out = _run(excerpt, tmp_path, change, settings=off)
    assert {r["rule"] for r in out.records} == {"grass-any", "grass-colour"}
    assert not any(out.lighting)


def test_the_same_rules_fire_when_something_enters_the_zone(excerpt, tmp_path):
    out = _run(excerpt, tmp_path, enters)
    for rule in ("grass-any", "grass-colour"):
        (event,) = out.events(rule)
        assert event["start"]["time_s"] == pytest.approx(CHANGE_AT + 0.4, abs=0.6)
        assert event["end"]["time_s"] == pytest.approx(9.0, abs=0.5)
    assert not any(out.lighting)


@pytest.mark.parametrize("change", [step, greyscale])
def test_something_entering_during_a_lighting_change_still_fires(excerpt, tmp_path, change):
    out = _run(excerpt, tmp_path, change, enters)
    assert any(out.lighting)
    for rule in ("grass-any", "grass-colour"):
        (event,) = out.events(rule)
        assert event["start"]["time_s"] == pytest.approx(CHANGE_AT + 0.4, abs=0.6)


# -- the guard alone ---------------------------------------------------------------------------


def _photo_frames(n: int = 30) -> list[np.ndarray]:
    """A still real photo (the demo's first frame), n times."""
    first = next(iter(demo_frames(1, (160, 120))))
    return [first.copy() for _ in range(n)]


def _flags(images: list[np.ndarray], settings: LightingSettings, fps: float = 10.0) -> list[bool]:
    guard = LightingGuard(settings)
    return [guard.observe(image, i / fps, frame=i) for i, image in enumerate(images)]


def test_a_local_change_is_not_lighting():
    images = _photo_frames()
    for image in images[15:]:
        cv2.rectangle(image, (10, 10), (50, 50), (20, 20, 230), -1)  # ~8 % of the frame
    assert not any(_flags(images, LightingSettings()))


def test_flag_lasts_lag_plus_hold_and_disabled_guard_never_flags():
    images = _photo_frames(60)
    images[20:] = [_gain(im, 1.4) for im in images[20:]]
    flags = _flags(images, LightingSettings(lag_s=1.0, hold_s=2.0))
    flagged = [i for i, f in enumerate(flags) if f]
    # Compared with the frame 1 s back: frames 20-29 see the step; held 2 s more.
    assert flagged == list(range(20, 50))
    assert not any(_flags(images, LightingSettings(enabled=False)))


def test_local_share_names_the_zone_with_a_real_change():
    images = _photo_frames(30)
    for image in images[15:]:
        image[:] = _gain(image, 1.5)
        cv2.rectangle(image, (0, 0), (40, 36), (230, 40, 40), -1)  # blue box in the top-left
    guard = LightingGuard(LightingSettings())
    for i, image in enumerate(images[:16]):
        flagged = guard.observe(image, i / 10)
    assert flagged
    top_left = cell_coverage(np.array([[0, 0], [40, 0], [40, 36], [0, 36]]), 160, 120)
    bottom_right = cell_coverage(np.array([[90, 70], [160, 70], [160, 120], [90, 120]]), 160, 120)
    assert guard.local_share(top_left) > 0.8
    assert guard.local_share(bottom_right) < 0.1  # what keeps a rule watching

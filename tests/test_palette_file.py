"""Palettes that travel: save a run's palette, start another run from it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from media import VTEST, media

from vidseg import ConfigError, Segmenter
from vidseg.cli import main
from vidseg.engine.palette_file import Palette
from vidseg.io.sources import VideoFileSource


def _frames(name: str, n: int) -> list[np.ndarray]:
    with VideoFileSource(media(name)) as src:
        out = []
        for frame in src:
            out.append(frame.image)
            if len(out) == n:
                return out
    return out


def _colours_by_frame(path: Path) -> dict[int, np.ndarray]:
    rows: dict[int, list[list[int]]] = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            rows.setdefault(int(row["frame"]), []).append([int(row[c]) for c in "bgr"])
    return {i: np.asarray(v) for i, v in rows.items()}


def test_json_round_trip_and_atomic_save(tmp_path: Path) -> None:
    seg = Segmenter(5, seed=0)
    assert seg.palette_ is None
    for image in _frames(VTEST, 3):
        res = seg.segment(image)
    pal = seg.palette_
    assert pal is not None and pal.k == 5 and pal.color_space == "oklab"
    np.testing.assert_allclose(pal.colors_bgr, res.centers, atol=1e-3)
    path = pal.save(tmp_path / "p.json")
    body = json.loads(path.read_text())
    assert body["format"] == "vidseg-palette" and body["version"] == 1 and body["k"] == 5
    assert len(body["colors_hex"]) == 5 and body["colors_hex"][0].startswith("#")
    again = Palette.load(path)
    np.testing.assert_allclose(again.centers, pal.centers, atol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_same_clip_gives_the_same_ids(tmp_path: Path) -> None:
    clip = media(VTEST)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    pal = tmp_path / "vtest.palette.json"
    args = ["--max-frames", "40", "-q", "--no-progress"]
    assert (
        main(
            [
                "convert",
                str(clip),
                str(tmp_path / "a.mp4"),
                "--stats",
                str(first),
                "--save-palette",
                str(pal),
                *args,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "convert",
                str(clip),
                str(tmp_path / "b.mp4"),
                "--stats",
                str(second),
                "--palette",
                str(pal),
                *args,
            ]
        )
        == 0
    )
    a, b = _colours_by_frame(first), _colours_by_frame(second)
    saved = np.rint(Palette.load(pal).colors_bgr).astype(int)
    # From its first frame, the loaded run's id i is the saved run's id i.
    for i in (0, 10, 39):
        dist = np.abs(a[39] - b[i]).max(axis=1)
        assert np.median(dist) <= 6 and dist.max() <= 25, (i, dist)
    assert np.abs(b[0] - saved).max(axis=1).max() <= 25
    with (tmp_path / "b.csv").open() as f:
        first_row = next(csv.DictReader(f))
    assert first_row["scene_cut"] == "False"  # a warm start, not a re-seed


def test_another_clip_adapts_and_keeps_the_ids() -> None:
    learnt = Segmenter(8, seed=0)
    for image in _frames(VTEST, 20):
        learnt.segment(image)
    pal = learnt.palette_
    assert pal is not None
    seg = Segmenter(8, seed=0)
    seg.set_palette(pal)
    res = seg.segment(_frames("intel_parking_lot_static.mp4", 1)[0])
    assert not res.scene_cut
    # Each id moved towards the new scene from its own loaded colour: the identity is
    # the nearest-colour assignment of the loaded palette to the adapted one.
    from scipy.optimize import linear_sum_assignment

    cost = ((pal.colors_bgr[:, None, :] - res.centers[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    assert (cols == rows).mean() >= 0.75


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"format": "x"}', "is not a vidseg palette file"),
        (None, "has k=8 but n_clusters is 6"),
        ("space", "is in oklab but color_space is bgr"),
        ("nan", "NaN is not a number"),
    ],
)
def test_bad_palette_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, message: str
) -> None:
    good = Palette(
        centers=np.linspace(0, 90, 24, dtype=np.float32).reshape(8, 3), color_space="oklab"
    ).to_json()
    path = tmp_path / "p.json"
    extra: list[str] = []
    if text is None:
        path.write_text(good)
        extra = ["--k", "6"]
    elif text == "space":
        path.write_text(good)
        extra = ["--color-space", "bgr"]
    elif text == "nan":
        path.write_text(good.replace("0.0", "NaN", 1))
    else:
        path.write_text(text)
    out = tmp_path / "out.mp4"
    code = main(["convert", str(media(VTEST)), str(out), "--palette", str(path), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0], err
    assert not out.exists() and not list(tmp_path.glob("*.partial*"))


def test_set_palette_checks_k() -> None:
    pal = Palette(centers=np.zeros((4, 3), np.float32), color_space="oklab")
    with pytest.raises(ConfigError, match="k=4 but n_clusters is 8"):
        Segmenter(8).set_palette(pal)

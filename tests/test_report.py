"""``vidseg report``: real and synthetic runs in the agreed formats, read, drawn and checked."""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import VTEST, media

from vidseg import Segmenter
from vidseg.cli import main
from vidseg.io.data_sinks import StatsCsvSink, StatsNdjsonSink
from vidseg.io.sources import VideoFileSource
from vidseg.pipeline import run
from vidseg.report import load_events, load_stats, make_report
from vidseg.report.sample import SampleRun, write_sample_run
from vidseg.report.summary import median_colors, summary_rows

FRAMES = 600


class _Tags(HTMLParser):
    """Every tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    return parser.tags


def _decode_data_uri(uri: str) -> np.ndarray:
    match = re.fullmatch(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)", uri)
    assert match, uri[:60]
    data = base64.b64decode(match.group(2), validate=True)
    assert data[:4] == b"\x89PNG" if match.group(1) == "png" else data[:2] == b"\xff\xd8"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.size
    return image


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """A synthetic analyse run: NDJSON with a zone, lighting, maps and three events."""
    return write_sample_run(tmp_path_factory.mktemp("analyzed"), frames=FRAMES, events=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """A cheap run (no maps, one event) for tests about files and processes, not pictures."""
    return write_sample_run(tmp_path_factory.mktemp("tiny"), frames=30, events=1, maps=False)


@pytest.fixture(scope="module")
def report(analyzed: SampleRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", str(analyzed.stats), "-o", str(out), "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Plain ``vidseg convert`` statistics (CSV and NDJSON) of 40 frames of a real clip."""
    out = tmp_path_factory.mktemp("real")
    sinks = [StatsCsvSink(out / "run.csv"), StatsNdjsonSink(out / "run.ndjson")]
    run(VideoFileSource(media(VTEST)), Segmenter(n_clusters=5, seed=0), sinks, max_frames=40)
    return out / "run.csv", out / "run.ndjson"


# -- the page -------------------------------------------------------------------------


def test_page_is_self_contained(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    tags = _tags(page)
    images = [attrs["src"] for tag, attrs in tags if tag == "img"]
    assert len(images) >= 7  # 2 timelines, palette, 2 maps, 2 snapshots
    for src in images:
        assert src is not None
        _decode_data_uri(src)
    for tag, attrs in tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not value.startswith(("http:", "https:", "//")), (tag, value[:80])
        assert tag not in ("script", "link", "iframe"), tag
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert "default-src 'none'" in page  # the browser may fetch nothing at all


def test_pngs_are_written_beside_the_page(report: Path, analyzed: SampleRun) -> None:
    folder = report.with_name("report_files")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "activity.png",
        "ownership.png",
        "palette.png",
        "snapshot_e1.jpg",
        "snapshot_e2.jpg",
        "timeline.png",
        "timeline_zone1_door.png",
    ]
    timeline = cv2.imread(str(folder / "timeline.png"))
    assert timeline.shape[1] == 1200 and timeline.shape[0] >= 300
    # every cluster with a visible share is filled with its median colour
    series = load_stats(analyzed.stats)
    colours = median_colors(series)
    pixels = timeline.reshape(-1, 3).astype(int)
    for j in range(series.n_clusters):
        if np.nanmean(series.share[:, j]) < 0.02:
            continue
        close = np.abs(pixels - colours[j].astype(int)).max(axis=1) <= 2
        assert close.sum() > 2000, f"cluster {j} colour {colours[j]} hardly in the plot"
    ownership = cv2.imread(str(folder / "ownership.png"))
    with np.load(analyzed.maps) as maps:
        for colour in maps["palette_bgr"]:
            near = np.abs(ownership.reshape(-1, 3).astype(int) - colour.astype(int)).max(axis=1)
            assert (near <= 2).sum() > 50


def test_page_embeds_the_same_pngs(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    data = (report.with_name("report_files") / "timeline.png").read_bytes()
    assert base64.b64encode(data).decode() in page


def test_summary_numbers_equal_the_input(report: Path, analyzed: SampleRun) -> None:
    series = load_stats(analyzed.stats)
    events = load_events(analyzed.events)
    rows = {(r.scope, r.cluster): r for r in summary_rows(series, events, median_colors(series))}
    for scope, share in {"frame": analyzed.share, **analyzed.zone_share}.items():
        for j in range(share.shape[1]):
            row = rows[scope, j]
            rounded = np.round(share[:, j], 6)  # the file holds 6 decimals
            np.testing.assert_allclose(
                [row.mean, row.min, row.max], [rounded.mean(), rounded.min(), rounded.max()]
            )
            expected_events = sum(z == scope and j in c for z, c in analyzed.event_zones)
            assert row.events == expected_events
    page = report.read_text(encoding="utf-8")
    for row in rows.values():
        assert f"{100 * row.mean:.1f}%" in page
        assert f"{100 * row.max:.1f}%" in page


def test_events_are_listed_with_thumbnails_and_the_open_one(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "Events (3)" in page
    assert page.count('alt="snapshot of event') == 2
    assert "run stopped" in page  # e3 never ended
    assert "3 (1 open)" in page


def test_real_plain_convert_stats_make_a_report(
    real_run: tuple[Path, Path], tmp_path: Path
) -> None:
    with open(real_run[0], newline="") as f:
        rows = list(csv.DictReader(f))
    expected: dict[int, list[float]] = {}
    for row in rows:
        expected.setdefault(int(row["cluster"]), []).append(float(row["area_share"]))
    for stats in real_run:
        out = tmp_path / f"{stats.suffix[1:]}.html"
        summary = make_report(stats, output=out)
        assert summary.frames == 40 and summary.clusters == 5 and not summary.maps
        page = out.read_text(encoding="utf-8")
        assert "not recorded" in page
        series = load_stats(stats)
        table = summary_rows(series, [], median_colors(series))
        for row in table:
            values = expected[row.cluster]
            np.testing.assert_allclose(
                [row.mean, row.min, row.max], [np.mean(values), min(values), max(values)]
            )


def test_csv_and_ndjson_read_the_same(tmp_path: Path) -> None:
    runs = [
        write_sample_run(tmp_path / fmt, frames=200, fmt=fmt, events=0, maps=False)
        for fmt in ("csv", "ndjson")
    ]
    a, b = (load_stats(r.stats) for r in runs)
    np.testing.assert_allclose(a.share, runs[0].share, atol=1e-6)
    np.testing.assert_allclose(a.share, b.share)
    np.testing.assert_allclose(a.zones["door"], b.zones["door"])
    np.testing.assert_array_equal(a.colors_bgr, b.colors_bgr)
    np.testing.assert_array_equal(a.scene_cut, b.scene_cut)
    assert a.lighting is not None and b.lighting is not None
    np.testing.assert_array_equal(a.lighting, b.lighting)
    assert a.lighting.any()


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_varying_k(fmt: str, tmp_path: Path) -> None:
    sample = write_sample_run(tmp_path, frames=300, fmt=fmt, varying_k=True)
    series = load_stats(sample.stats)
    np.testing.assert_allclose(series.share, sample.share, atol=1e-6)
    np.testing.assert_allclose(series.zones["door"], sample.zone_share["door"], atol=1e-6)
    assert np.isnan(series.share[150, 6:]).all() and not np.isnan(series.share[0]).any()
    make_report(sample.stats, output=tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "frames present" in page and "6–8" in page


def test_ndjson_in_another_layout_is_read_line_by_line(analyzed: SampleRun, tmp_path: Path) -> None:
    """Keys in another order, spaces after separators: the slow, exact path agrees."""
    lines = analyzed.stats.read_text().splitlines()
    other = tmp_path / "other.ndjson"
    with open(other, "w") as f:
        for line in lines:
            rec = json.loads(line)
            rec["clusters"] = [dict(reversed(list(c.items()))) for c in rec["clusters"]]
            f.write(json.dumps(dict(reversed(list(rec.items())))) + "\n")
    a, b = load_stats(analyzed.stats), load_stats(other)
    np.testing.assert_array_equal(a.share, b.share)
    np.testing.assert_array_equal(a.zones["door"], b.zones["door"])
    np.testing.assert_array_equal(a.colors_bgr, b.colors_bgr)


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_line_cut_short_by_a_crash_is_left_out(
    fmt: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sample = write_sample_run(tmp_path, frames=50, fmt=fmt, events=0, maps=False)
    data = sample.stats.read_bytes()
    sample.stats.write_bytes(data[: len(data) - 30])
    series = load_stats(sample.stats)
    # NDJSON loses the frame; CSV only the row, the frame's other rows stay
    assert series.n_frames == (49 if fmt == "ndjson" else 50)
    assert "cut short" in caplog.text


# -- command line and failures -------------------------------------------------------


def _bad_inputs(folder: Path, good: SampleRun) -> dict[str, tuple[list[str], int, str]]:
    (folder / "empty.ndjson").write_text("")
    (folder / "header.csv").write_text(
        "frame,time_s,cluster,pixels,area_share,color_hex,b,g,r,cx,cy,scene_cut\n"
    )
    (folder / "garbage.ndjson").write_text('{"frame": 0}\nnot json\n')
    (folder / "text.csv").write_text("a,b\n1,2\n")
    (folder / "bad_events.ndjson").write_text(
        good.events.read_text() + "{broken\n"  # type: ignore[union-attr]
    )
    (folder / "stats.txt").write_text("x")
    stats = str(good.stats)
    return {
        "missing stats": ([str(folder / "nope.ndjson")], 2, "does not exist"),
        "wrong suffix": ([str(folder / "stats.txt")], 2, "unsupported stats file suffix"),
        "empty stats": ([str(folder / "empty.ndjson")], 1, "holds no frames"),
        "header only": ([str(folder / "header.csv")], 1, "holds no frames"),
        "not our csv": ([str(folder / "text.csv")], 1, "not a vidseg stats CSV"),
        "garbage line": ([str(folder / "garbage.ndjson")], 1, "line 2 is not JSON"),
        "bad events": (
            [stats, "--events", str(folder / "bad_events.ndjson")],
            1,
            "line 6 is not a readable event",
        ),
        "missing events": ([stats, "--events", str(folder / "no.ndjson")], 2, "--events"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing stats",
        "wrong suffix",
        "empty stats",
        "header only",
        "not our csv",
        "garbage line",
        "bad events",
        "missing events",
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(
    case: str, analyzed: SampleRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    args, code, words = _bad_inputs(inputs, analyzed)[case]
    out = tmp_path / "out"
    out.mkdir()
    assert main(["report", *args, "-o", str(out / "report.html"), "-q"]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vidseg: error: ") and words in err[0], err
    assert list(out.iterdir()) == []


def test_existing_report_needs_overwrite(tiny: SampleRun, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("keep me")
    assert main(["report", str(tiny.stats), "-o", str(out), "-q"]) == 2
    assert out.read_text() == "keep me"
    assert main(["report", str(tiny.stats), "-o", str(out), "--overwrite", "-q"]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report_files"]


def test_a_failed_write_leaves_no_report(
    tiny: SampleRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def replace(src: object, dst: object) -> None:
        if str(dst).endswith(".html"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr("vidseg.report.report.os.replace", replace)
    out = tmp_path / "report.html"
    assert main(["report", str(tiny.stats), "-o", str(out), "-q"]) == 1
    assert list(tmp_path.iterdir()) == []  # the figure folder moved into place is gone too
    # replacing a report: a failure puts the old one back as it was
    monkeypatch.undo()
    assert main(["report", str(tiny.stats), "-o", str(out), "-q"]) == 0
    before = sorted(p.name for p in out.with_name("report_files").iterdir())
    monkeypatch.setattr("vidseg.report.report.os.replace", replace)
    assert main(["report", str(tiny.stats), "-o", str(out), "--overwrite", "-q"]) == 1
    assert sorted(p.name for p in out.with_name("report_files").iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report_files"]


def test_events_next_to_the_stats_are_used_and_logged(
    tiny: SampleRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(tiny.stats), "-o", str(out)]) == 0
    assert "using the events file next to the stats file" in capsys.readouterr().err


def test_missing_snapshot_is_noted(analyzed: SampleRun, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(analyzed.stats.parent, folder)
    (folder / "snapshots" / "e2.jpg").unlink()
    out = tmp_path / "r.html"
    summary = make_report(folder / "stats.ndjson", events=folder / "events.ndjson", output=out)
    assert summary.events == 3 and summary.open_events == 1
    page = out.read_text(encoding="utf-8")
    assert "missing: e2.jpg" in page and "Snapshot images missing for event(s) e2" in page


def test_real_process_and_no_pyplot(tiny: SampleRun, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code = (
        "import sys; from vidseg.cli import main; "
        f"rc = main(['report', {str(tiny.stats)!r}, '-o', {str(out)!r}, '-q']); "
        "print(rc, 'matplotlib.pyplot' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["0", "False"]
    assert out.is_file()


def test_help_does_not_import_matplotlib() -> None:
    code = (
        "import sys; from vidseg.cli import build_parser; build_parser(); "
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


def test_chromium_renders_the_page_offline(
    report: Path, analyzed: SampleRun, tmp_path: Path
) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1280,1400",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=90,
        check=True,
    )
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (1400, 1280)
    # the embedded timeline was decoded and drawn: its cluster fills are on screen
    series = load_stats(analyzed.stats)
    big = int(np.nanargmax(np.nanmean(series.share, axis=0)))
    colour = median_colors(series)[big].astype(int)
    near = np.abs(image.reshape(-1, 3).astype(int) - colour).max(axis=1) <= 3
    assert near.sum() > 5000

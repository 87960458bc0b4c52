"""Configuration: config.yaml is the defaults; bad keys and values are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidseg import Config, ConfigError, load_config
from vidseg.config import field_specs, render_defaults

REPO = Path(__file__).parents[1]


def test_config_yaml_loads_to_exactly_the_defaults() -> None:
    assert load_config(REPO / "config.yaml") == Config()
    assert (REPO / "config.yaml").read_text() == render_defaults()


def test_every_key_is_documented_in_config_yaml() -> None:
    text = (REPO / "config.yaml").read_text()
    for section, f in field_specs():
        assert f"\n{section}:" in text
        assert f"  {f.name}: " in text
        assert f.metadata["help"] in text


def test_none_loads_defaults_and_partial_files_keep_the_rest(tmp_path: Path) -> None:
    assert load_config(None) == Config()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("engine:\n  n_clusters: 5\noutput:\n  view: overlay\n")
    loaded = load_config(cfg)
    assert loaded.engine.n_clusters == 5 and loaded.output.view == "overlay"
    assert loaded.engine.color_space == Config().engine.color_space
    empty = tmp_path / "e.yaml"
    empty.write_text("")
    assert load_config(empty) == Config()


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "engine:\n  n_clusterz: 4\n",
            "unknown config key 'n_clusterz'; did you mean 'n_clusters'?",
        ),
        ("engin:\n  n_clusters: 4\n", "did you mean 'engine'?"),
        ("engine:\n  n_clusters: 0\n", "n_clusters must be in [2, 64], got 0"),
        ("engine:\n  hysteresis: -1\n", "hysteresis must be in [0.0, 100.0], got -1"),
        ("engine:\n  color_space: hsv\n", "color_space must be one of bgr, lab, oklab; got 'hsv'"),
        ("engine:\n  n_clusters: four\n", "n_clusters must be a number, got 'four'"),
        ("output:\n  keep_audio: 1\n", "keep_audio must be true or false, got 1"),
        ("engine: [1, 2]\n", "config section 'engine' must be a mapping"),
        ("- a\n- b\n", "must hold a mapping of sections"),
        ("engine:\n  n_clusters: [\n", "is not valid YAML"),
    ],
)
def test_bad_config_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_make_a_new_validated_config() -> None:
    base = Config()
    cfg = base.with_overrides({"n_clusters": 12, "crf": 30, "max_frames": 10})
    assert (cfg.engine.n_clusters, cfg.output.crf, cfg.run.max_frames) == (12, 30, 10)
    assert base.engine.n_clusters == 8  # frozen: the original is unchanged
    with pytest.raises(ConfigError, match="did you mean 'hysteresis'"):
        base.with_overrides({"hysterisis": 1.0})
    with pytest.raises(ConfigError, match="crf must be in"):
        base.with_overrides({"crf": 99})
    with pytest.raises(AttributeError):
        base.engine.n_clusters = 3  # type: ignore[misc]


def test_durations_take_units_and_reconnect_forever_is_minus_one() -> None:
    cfg = Config().with_overrides({"segment_time": "1h", "duration": "90s"})
    assert (cfg.run.segment_time, cfg.run.duration) == (3600.0, 90.0)
    assert Config().with_overrides({"segment_time": 600}).run.segment_time == 600.0
    assert Config().run.reconnect_attempts == -1  # live sources: keep trying
    with pytest.raises(ConfigError, match="segment_time must be seconds or a duration"):
        Config().with_overrides({"segment_time": "soon"})
    with pytest.raises(ConfigError, match=r"reconnect_attempts must be in \[-1, "):
        Config().with_overrides({"reconnect_attempts": -2})

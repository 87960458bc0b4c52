"""Rules: configuration messages, and the state machine on synthetic series."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from vidseg.analysis.rules import RuleTracker
from vidseg.analysis.rules_config import (
    EventsSettings,
    HookSpec,
    LightingSettings,
    Rule,
    check_rules_against_k,
    events_yaml,
    parse_events_settings,
    parse_rules,
)
from vidseg.analysis.zonestats import ZoneStats
from vidseg.errors import ConfigError

ISSUE_RULE = {
    "name": "door-activity",
    "zone": "door",
    "clusters": "any",
    "metric": "share_of_zone",
    "trigger": "change",
    "enter": 0.20,
    "exit": 0.10,
    "baseline_s": 30,
    "min_duration_s": 1.0,
    "cooldown_s": 5.0,
}


def _rules(*items: dict) -> tuple[Rule, ...]:
    return parse_rules(list(items), zone_names={"door", "yard"}, source="cfg.yaml")


# -- configuration ---------------------------------------------------------------------------


def test_the_issue_example_parses():
    (rule,) = _rules(ISSUE_RULE)
    assert rule == Rule(
        name="door-activity",
        zone="door",
        clusters="any",
        metric="share_of_zone",
        trigger="change",
        enter=0.2,
        exit=0.1,
        baseline_s=30.0,
        min_duration_s=1.0,
        cooldown_s=5.0,
    )
    assert _rules({"name": "a", "clusters": [3, 0, 3]})[0].clusters == (0, 3)
    assert _rules({"name": "a", "clusters": 2})[0].clusters == (2,)
    (colour,) = _rules({"name": "a", "zone": "frame", "clusters": "#c03020"})
    assert (colour.zone, colour.clusters, colour.color_bgr) == ("frame", "#C03020", (32, 48, 192))
    assert parse_rules(None, zone_names=set(), source="") == ()


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        ({"enterr": 0.3}, "analysis.rules[0].enterr", "did you mean 'enter'?"),
        ({"zone": "dor"}, "analysis.rules[0].zone", "'dor' is not a zone; did you mean 'door'?"),
        ({"clusters": "#c0302"}, "analysis.rules[0].clusters", 'a colour "#rrggbb"'),
        ({"clusters": "red"}, "analysis.rules[0].clusters", "got 'red'"),
        ({"clusters": [0, -1]}, "analysis.rules[0].clusters", "list of cluster ids"),
        ({"clusters": True}, "analysis.rules[0].clusters", "got True"),
        ({"metric": "share"}, "analysis.rules[0].metric", "share_of_zone, share_of_frame, pixels"),
        ({"trigger": "rise"}, "analysis.rules[0].trigger", "change, above, below"),
        ({"enter": 0.1, "exit": 0.2}, "analysis.rules[0].enter", "must be above exit"),
        ({"trigger": "below"}, "analysis.rules[0].enter", "must be below exit for trigger: below"),
        ({"enter": 1.5}, "analysis.rules[0].enter", "must be in [0, 1] for metric share_of_zone"),
        ({"enter": "high"}, "analysis.rules[0].enter", "must be a number"),
        ({"baseline_s": 0}, "analysis.rules[0].baseline_s", "must be > 0.0"),
        ({"min_duration_s": -1}, "analysis.rules[0].min_duration_s", "must be >= 0.0"),
        ({"cooldown_s": float("nan")}, "analysis.rules[0].cooldown_s", "got nan"),
        ({"name": "door activity"}, "analysis.rules[0].name", "letters, digits, '-' or '_'"),
    ],
)
def test_bad_rules_name_the_key_and_the_fix(change, where, says):
    with pytest.raises(ConfigError) as err:
        _rules({**ISSUE_RULE, **change})
    message = str(err.value)
    assert message.startswith(where + " ")
    assert says in message
    assert message.endswith("(in 'cfg.yaml')")
    assert "\n" not in message


def test_rule_list_errors():
    with pytest.raises(ConfigError, match=r"analysis.rules\[1\].name 'a' is used twice"):
        _rules({"name": "a"}, {"name": "a"})
    with pytest.raises(ConfigError, match=r"analysis.rules\[0\].name is missing"):
        _rules({"zone": "door"})
    with pytest.raises(ConfigError, match=r"analysis.rules must be a list"):
        parse_rules({"name": "a"}, zone_names=set(), source="")
    with pytest.raises(ConfigError, match=r"analysis.rules\[0\] must be a mapping"):
        parse_rules(["a"], zone_names=set(), source="")


def test_pixels_thresholds_may_exceed_one():
    (rule,) = _rules(
        {"name": "a", "metric": "pixels", "trigger": "above", "enter": 500, "exit": 100}
    )
    assert (rule.enter, rule.exit) == (500.0, 100.0)


def test_cluster_ids_are_checked_against_k():
    rules = _rules({"name": "a", "clusters": [1, 8]})
    check_rules_against_k(rules, 9)
    with pytest.raises(ConfigError) as err:
        check_rules_against_k(rules, 8, source="cfg.yaml")
    assert str(err.value).startswith("analysis.rules[0].clusters cluster id 8 does not exist")
    assert "use ids 0..7, raise n_clusters" in str(err.value)


def test_events_settings_parse_and_complain():
    assert parse_events_settings(None) == EventsSettings()
    assert parse_events_settings({}) == EventsSettings()
    got = parse_events_settings(
        {
            "events": {
                "snapshots": False,
                "lighting": {"gain": 0.2, "hold_s": 0},
                "hooks": [
                    {"command": "python3 notify.py --loud", "on": "end"},
                    {"url": "http://127.0.0.1:8000/events"},
                ],
                "hook_timeout_s": 2,
                "hook_queue": 8,
            }
        }
    )
    assert got == EventsSettings(
        snapshots=False,
        lighting=LightingSettings(gain=0.2, hold_s=0.0),
        hooks=(
            HookSpec(command=("python3", "notify.py", "--loud"), on=("end",)),
            HookSpec(url="http://127.0.0.1:8000/events"),
        ),
        hook_timeout_s=2.0,
        hook_queue=8,
    )


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"evnts": {}}, "evnts is not a known key; did you mean 'events'?"),
        (
            {"events": {"snapshot": 1}},
            "events.snapshot is not a known key; did you mean 'snapshots'",
        ),
        ({"events": {"lighting": {"gain": 9}}}, "events.lighting.gain must be >= 0.01 and <= 5.0"),
        ({"events": {"hooks": [{"command": []}]}}, "events.hooks[0].command must be a program"),
        ({"events": {"hooks": [{"url": "ftp://x"}]}}, "events.hooks[0].url must be an http://"),
        ({"events": {"hooks": [{"url": "http://x", "command": ["a"]}]}}, "events.hooks[0] needs"),
        ({"events": {"hooks": [{"url": "http://x", "on": ["begin"]}]}}, "events.hooks[0].on must"),
        ({"events": {"hook_queue": 1.5}}, "events.hook_queue must be a whole number"),
        ({"events": {"snapshots": "yes"}}, "events.snapshots must be true or false"),
    ],
)
def test_bad_events_settings_name_the_key(raw, says):
    with pytest.raises(ConfigError) as err:
        parse_events_settings(raw, source="cfg.yaml")
    assert str(err.value).startswith("analysis." + says)


def test_documented_yaml_is_exactly_the_defaults():
    section = yaml.safe_load("analysis:\n" + events_yaml())["analysis"]
    assert parse_rules(section.pop("rules"), zone_names=set(), source="") == ()
    assert parse_events_settings(section) == EventsSettings()
    # The commented example is the issue's rule.
    example = [ln[4:] for ln in events_yaml().splitlines() if ln.startswith("  #   ")]
    assert _rules(*yaml.safe_load("\n".join(example))) == _rules(ISSUE_RULE)


# -- the state machine -----------------------------------------------------------------------

GREY, WHITE, RED = (90, 90, 90), (250, 250, 250), (40, 40, 200)  # BGR


def _zones(shares: list[float], area: int = 1000) -> dict[str, ZoneStats]:
    """Zone ``door`` with these cluster shares (the frame: the door plus as much grey)."""
    pixels = np.round(np.asarray(shares) * area).astype(np.int64)
    frame = pixels.copy()
    frame[0] += area
    k = len(shares)
    box, cen = np.full((k, 4), -1, np.int32), np.full((k, 2), np.nan)
    return {
        "door": ZoneStats("door", area, pixels, box, cen),
        "frame": ZoneStats("frame", 2 * area, frame, box, cen),
    }


def _feed(rule: dict, series, palette=(GREY, RED), fps: float = 10.0, lighting=()):
    """Run ``series`` (per frame: shares, or (shares, palette)) through one rule."""
    tracker = RuleTracker(_rules({"name": "r", "zone": "door", **rule})[0])
    out = []
    for i, item in enumerate(series):
        shares, colours = item if isinstance(item, tuple) else (item, palette)
        update = tracker.update(
            _zones(shares),
            np.array(colours, np.uint8),
            time_s=i / fps,
            frame=i,
            lighting=i in lighting,
        )
        if update.kind is not None:
            ev = update.event
            out.append(
                (update.kind, round(ev.start_time if update.kind == "start" else ev.end_time, 3))
            )
    return out, tracker


ABOVE = {
    "clusters": [1],
    "trigger": "above",
    "enter": 0.5,
    "exit": 0.2,
    "min_duration_s": 0,
    "cooldown_s": 0,
}


def _red(values: list[float]) -> list[list[float]]:
    return [[1 - v, v] for v in values]


def test_enter_and_exit_thresholds_have_hysteresis():
    # 0.4 is under enter but over exit: the event stays open; 0.3 -> 0.45 starts nothing new.
    series = _red([0.1, 0.6, 0.4, 0.3, 0.45, 0.1, 0.45, 0.1])
    events, _ = _feed(ABOVE, series)
    assert events == [("start", 0.1), ("end", 0.5)]


def test_min_duration_drops_blips_and_dates_the_start_back():
    rule = {**ABOVE, "min_duration_s": 0.5}
    blip = _red([0.0] * 3 + [0.9] * 4 + [0.0] * 5)  # 0.3-0.6 s: shorter than 0.5 s
    assert _feed(rule, blip)[0] == []
    held = _red([0.0] * 3 + [0.9] * 6 + [0.0] * 5)  # 0.3-0.8 s
    assert _feed(rule, held)[0] == [("start", 0.3), ("end", 0.9)]


def test_cooldown_keeps_a_second_event_back():
    series = _red([0.0, 0.9, 0.9, 0.0, 0.0, 0.9, 0.9, 0.0] + [0.0] * 10 + [0.9, 0.0])
    assert _feed({**ABOVE, "cooldown_s": 1.0}, series)[0] == [
        ("start", 0.1),
        ("end", 0.3),
        ("start", 1.8),
        ("end", 1.9),
    ]
    assert len(_feed({**ABOVE, "cooldown_s": 0.1}, series)[0]) == 6


def test_change_against_a_rolling_median_baseline():
    rule = {"clusters": [1], "trigger": "change", "enter": 0.2, "exit": 0.1,
            "baseline_s": 4.0, "min_duration_s": 0, "cooldown_s": 0}  # fmt: skip
    # A short visit (1 s) is an event against the old level; a lasting change (from 8 s on)
    # is one too, and ends once it is half the 4 s window (2 s later).
    series = _red([0.1] * 20 + [0.5] * 10 + [0.1] * 50 + [0.6] * 60)
    events, tracker = _feed(rule, series)
    assert events[:2] == [("start", 2.0), ("end", 3.0)]
    assert events[2] == ("start", 8.0)
    assert events[3][0] == "end" and 9.5 <= events[3][1] <= 10.5
    assert len(events) == 4
    assert tracker.last is not None and tracker.last.baseline == pytest.approx(0.6)


def test_below_trigger():
    rule = {"clusters": [1], "trigger": "below", "enter": 0.1, "exit": 0.3,
            "min_duration_s": 0, "cooldown_s": 0}  # fmt: skip
    assert _feed(rule, _red([0.5, 0.05, 0.2, 0.35, 0.5]))[0] == [("start", 0.1), ("end", 0.3)]


def test_a_colour_follows_the_nearest_cluster_each_frame():
    rule = {"clusters": "#c83228", "trigger": "above", "enter": 0.5, "exit": 0.2,
            "min_duration_s": 0, "cooldown_s": 0}  # fmt: skip
    # The red cluster swaps ids between frames; the rule follows the colour, not the id.
    series = [
        ([0.9, 0.1], (GREY, RED)),
        ([0.3, 0.7], (GREY, RED)),
        ([0.7, 0.3], (RED, GREY)),  # red is cluster 0 now, still 0.7 of the door
        ([0.9, 0.1], (GREY, RED)),
    ]
    events, tracker = _feed(rule, series)
    assert events == [("start", 0.1), ("end", 0.3)]
    # No cluster within dE 30 of the colour: the value is 0, not the nearest grey's share.
    _feed_none, tracker = _feed(rule, [([0.9, 0.1], (GREY, WHITE))])
    assert tracker.last is not None and (tracker.last.value, tracker.last.clusters) == (0.0, ())


def test_any_change_is_the_area_that_changed_colour():
    rule = {"clusters": "any", "trigger": "change", "enter": 0.2, "exit": 0.1,
            "min_duration_s": 0, "cooldown_s": 0}  # fmt: skip
    grey2 = (96, 96, 96)  # a shade the eye does not tell from GREY
    palette = (GREY, grey2, WHITE)
    still = [0.5, 0.5, 0.0]
    # The palette re-splits the two greys (40 % of the zone changes id): no event.
    split = [0.1, 0.9, 0.0]
    events, tracker = _feed(rule, [still] * 10 + [split] * 5, palette=palette)
    assert events == [] and tracker.last is not None and tracker.last.quantity < 0.05
    # White takes 30 % of the zone: 0.3 changed colour, named as the cluster that gained.
    came = [0.35, 0.35, 0.3]
    events, tracker = _feed(rule, [still] * 10 + [came] * 5, palette=palette)
    assert events == [("start", 1.0)]
    assert tracker.last.quantity == pytest.approx(0.3, abs=0.01)
    assert tracker.last.clusters == (2,)
    assert (tracker.last.value, tracker.last.baseline) == pytest.approx((0.3, 0.0))


def test_any_above_and_below_use_the_largest_and_smallest_cluster():
    above = {"clusters": "any", "trigger": "above", "enter": 0.8, "exit": 0.6,
             "min_duration_s": 0, "cooldown_s": 0}  # fmt: skip
    _, tracker = _feed(above, [[0.1, 0.85, 0.05]], palette=(GREY, RED, WHITE))
    assert (tracker.last.value, tracker.last.clusters) == (0.85, (1,))
    below = {**above, "trigger": "below", "enter": 0.02, "exit": 0.05}
    _, tracker = _feed(below, [[0.1, 0.89, 0.01]], palette=(GREY, RED, WHITE))
    assert (tracker.last.value, tracker.last.clusters) == (0.01, (2,))


def test_share_of_frame_and_pixels_metrics():
    frame = {**ABOVE, "metric": "share_of_frame", "enter": 0.3, "exit": 0.1}
    _, tracker = _feed(frame, _red([0.8]))
    assert tracker.last.value == pytest.approx(0.4)  # 800 of the frame's 2000 pixels
    pixels = {**ABOVE, "metric": "pixels", "enter": 500, "exit": 100}
    events, tracker = _feed(pixels, _red([0.1, 0.8, 0.05]))
    assert tracker.last.value == 50 and events == [("start", 0.1), ("end", 0.2)]


def test_peak_follows_the_most_extreme_quantity():
    series = _red([0.0, 0.6, 0.9, 0.7, 0.0])
    tracker = RuleTracker(_rules({"name": "r", "zone": "door", **ABOVE})[0])
    ends = []
    for i, shares in enumerate(series):
        update = tracker.update(
            _zones(shares), np.array((GREY, RED), np.uint8), time_s=i / 10, frame=i
        )
        if update.kind == "end":
            ends.append(update.event)
    (ev,) = ends
    assert (ev.peak_frame, ev.peak_value, ev.end_frame, ev.end_value) == (2, 0.9, 4, 0.0)


def test_lighting_rebaselines_instead_of_firing():
    rule = {"clusters": [1], "trigger": "change", "enter": 0.2, "exit": 0.1,
            "baseline_s": 10, "min_duration_s": 0.2, "cooldown_s": 0}  # fmt: skip
    series = _red([0.1] * 10 + [0.6] * 20)
    assert _feed(rule, series)[0][0] == ("start", 1.0)
    # The same step during a lighting episode (frames 10-14): the new level is the baseline.
    assert _feed(rule, series, lighting=range(10, 15))[0] == []
    # A pending event (not yet min_duration_s old) is dropped by lighting.
    assert _feed(rule, series, lighting={11})[0] == []

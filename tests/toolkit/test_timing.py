"""The simulator against hand-worked timelines and the closed forms in docs/design.md.

Notation: I interval, T timeout, R retries, S start_period, d = how long a passing
probe takes. A failure counts only if its probe *started* at t >= S (while the
container was never healthy). Classic: first probe at I, each next one I after the
previous ended. Start-interval: while starting and t < S, every 5 s, clamped to S;
otherwise I after the previous ended.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubspec.healthstate import CLASSIC, HEALTHY, START_INTERVAL, UNHEALTHY
from hubspec.model import HealthCheckSpec
from hubspec.timing import (
    HANGS,
    REFUSED,
    UP,
    Behaviour,
    detection_after_healthy,
    fails_at,
    flapping,
    never_ready,
    notes_estimate,
    ready_at,
    simulate,
    time_to_healthy,
    time_to_unhealthy,
    timings,
)

# The bundled services' checks, copied by hand from services/*.yaml so the
# hand-worked timelines below do not move when someone retunes the YAML.
CHAT = HealthCheckSpec(interval=15, timeout=10, retries=8, start_period=45)
WAIIDE = HealthCheckSpec(interval=15, timeout=10, retries=8, start_period=45)
LAB = HealthCheckSpec(interval=30, timeout=20, retries=8, start_period=60)


def starts(check, behaviour, profile, stop_at=UNHEALTHY, until=2000):
    return [p.start for p in simulate(check, behaviour, profile=profile, until=until, stop_at=stop_at).probes]


# ---- hand-worked timelines ---------------------------------------------------------------------


class TestChat:
    """chat: I 15, T 10, R 8, S 45 (waiide has the same numbers; see TestWaiide)."""

    def test_classic_never_ready_fast(self):
        # Probes at 15, 30, 45, 60, ... (refused, 0 s each, next one 15 s later).
        # 15 and 30 start before S = 45: not counted. 45 is the first counted (45 >= 45),
        # the 8th counted one starts 7 × 15 = 105 s later: 150 -> UNHEALTHY at 150.
        assert starts(CHAT, never_ready(REFUSED), CLASSIC) == [15, 30, 45, 60, 75, 90, 105, 120, 135, 150]
        assert time_to_unhealthy(CHAT, profile=CLASSIC, mode=REFUSED) == 150

    def test_start_interval_never_ready_fast(self):
        # Every 5 s while starting: 5, 10, ..., 40 (8 probes, none counted); from 40 the
        # next would be 45 <= S, so 45 (counted #1), then every 15: 60, ..., 150 (#8).
        assert starts(CHAT, never_ready(REFUSED), START_INTERVAL) == [
            5,
            10,
            15,
            20,
            25,
            30,
            35,
            40,
            45,
            60,
            75,
            90,
            105,
            120,
            135,
            150,
        ]
        assert time_to_unhealthy(CHAT, profile=START_INTERVAL, mode=REFUSED) == 150

    def test_classic_never_ready_hanging(self):
        # Each probe runs 10 s, the next starts 15 s after it ended: a round is 25 s.
        # 15 (ends 25), 40 (ends 50; started < 45: not counted), 65 #1, 90 #2, 115 #3,
        # 140 #4, 165 #5, 190 #6, 215 #7, 240 #8 ends at 250 -> UNHEALTHY at 250.
        # The notes' "Max Wait" S + I×R = 165 is 85 s short.
        assert starts(CHAT, never_ready(HANGS), CLASSIC) == [15, 40, 65, 90, 115, 140, 165, 190, 215, 240]
        assert time_to_unhealthy(CHAT, profile=CLASSIC, mode=HANGS) == 250

    def test_start_interval_never_ready_hanging(self):
        # 5 (ends 15), 20 (ends 30), 35 (ends 45): all started < 45, not counted.
        # At 45 the start period is over: next at 45 + 15 = 60 (#1), then every 25:
        # 85, 110, 135, 160, 185, 210, 235 (#8), ending at 245.
        assert starts(CHAT, never_ready(HANGS), START_INTERVAL) == [5, 20, 35, 60, 85, 110, 135, 160, 185, 210, 235]
        assert time_to_unhealthy(CHAT, profile=START_INTERVAL, mode=HANGS) == 245

    def test_healthy(self):
        # Ready at once: classic passes its first probe at I = 15, start-interval at 5.
        assert time_to_healthy(CHAT, profile=CLASSIC) == 15
        assert time_to_healthy(CHAT, profile=START_INTERVAL) == 5
        # Ready at the declared typical start-up, 30 s: classic probes 15 (refused),
        # 30 (passes); start-interval 5..25 refused, 30 passes. Both HEALTHY at 30,
        # 15 s *before* the notes' "45s: Start period ends, first healthcheck".
        assert time_to_healthy(CHAT, profile=CLASSIC, ready=30) == 30
        assert time_to_healthy(CHAT, profile=START_INTERVAL, ready=30) == 30
        # Ready at 31: classic waits for the probe at 45; start-interval passes at 35.
        assert time_to_healthy(CHAT, profile=CLASSIC, ready=31) == 45
        assert time_to_healthy(CHAT, profile=START_INTERVAL, ready=31) == 35

    def test_passing_probe_duration(self):
        # d = 2: classic first probe 15 -> HEALTHY at 17; start-interval 5 -> 7.
        assert time_to_healthy(CHAT, profile=CLASSIC, ok_seconds=2) == 17
        assert time_to_healthy(CHAT, profile=START_INTERVAL, ok_seconds=2) == 7

    @pytest.mark.parametrize("profile", [CLASSIC, START_INTERVAL])
    def test_detection_after_healthy(self, profile):
        # Healthy, probes every 15 s. Refused from the next probe on: 8 counted failures
        # 15 s apart, UNHEALTHY 7 × 15 = 105 s after the first failing probe starts (best:
        # it broke just before that probe). Worst: it broke just after a passing probe
        # began, so add one interval: 120.
        assert detection_after_healthy(CHAT, profile=profile, mode=REFUSED) == (105, 120)
        # Hanging: rounds of 15 + 10; the 8th failing probe ends 7 × 25 + 10 = 185 s after
        # the first one started; worst adds the 15 s interval: 200.
        assert detection_after_healthy(CHAT, profile=profile, mode=HANGS) == (185, 200)
        # With d = 2 the passing probes are 17 s apart: worst 2 + 15 + 105 = 122.
        assert detection_after_healthy(CHAT, profile=profile, mode=REFUSED, ok_seconds=2) == (105, 122)

    def test_flapping(self):
        # Classic, healthy at 15, probes every 15 s. Down 60 s out of every 120: the
        # probes at 60, 75, 90, 105 fail (4 counted < 8), 120 passes again -> never UNHEALTHY.
        sim = simulate(CHAT, flapping(60, 60), profile=CLASSIC, until=1000)
        assert sim.first(UNHEALTHY) is None
        assert max(p.streak for p in sim.probes) == 4
        # Down 120 s out of every 180: 60, 75, ..., 165 fail: the 8th (165) -> UNHEALTHY.
        sim = simulate(CHAT, flapping(60, 120), profile=CLASSIC, until=1000, stop_at=UNHEALTHY)
        assert sim.first(UNHEALTHY) == 165


class TestWaiide:
    """waiide: I 15, T 10, R 8, S 45, declared typical start-up 35 s."""

    def test_same_numbers_as_chat(self):
        assert timings(WAIIDE) == timings(CHAT)

    def test_ready_at_typical_start_up(self):
        # Ready at 35. Classic probes at 15, 30 (refused, not counted), 45 passes -> 45.
        # Start-interval probes 5, ..., 30 refused, 35 passes -> 35.
        assert time_to_healthy(WAIIDE, profile=CLASSIC, ready=35) == 45
        assert time_to_healthy(WAIIDE, profile=START_INTERVAL, ready=35) == 35

    def test_never_ready(self):
        # Same schedule as chat: fast 150 in both profiles; hanging 250 classic, 245 start-interval.
        assert [
            time_to_unhealthy(WAIIDE, profile=p, mode=m) for p in (CLASSIC, START_INTERVAL) for m in (REFUSED, HANGS)
        ] == [150, 250, 150, 245]


class TestLab:
    """lab: I 30, T 20, R 8, S 60, declared typical start-up 50 s."""

    def test_classic_never_ready_fast(self):
        # 30 (not counted), 60 (#1: 60 >= 60), then every 30 s: #8 at 60 + 7 × 30 = 270.
        assert starts(LAB, never_ready(REFUSED), CLASSIC) == [30, 60, 90, 120, 150, 180, 210, 240, 270]
        assert time_to_unhealthy(LAB, profile=CLASSIC, mode=REFUSED) == 270

    def test_start_interval_never_ready_fast(self):
        # 5, 10, ..., 55 (11 probes, none counted), from 55 the next is 60 <= S: 60 (#1),
        # then every 30 s: #8 at 270.
        assert starts(LAB, never_ready(REFUSED), START_INTERVAL) == [
            *range(5, 60, 5),
            60,
            90,
            120,
            150,
            180,
            210,
            240,
            270,
        ]
        assert time_to_unhealthy(LAB, profile=START_INTERVAL, mode=REFUSED) == 270

    def test_classic_never_ready_hanging(self):
        # Rounds of 30 + 20 = 50 s: 30 (ends 50, not counted), 80 (#1), 130, 180, 230,
        # 280, 330, 380, 430 (#8) ends at 450. Notes: "60s start + (30s × 8) = 300s max".
        assert starts(LAB, never_ready(HANGS), CLASSIC) == [30, 80, 130, 180, 230, 280, 330, 380, 430]
        assert time_to_unhealthy(LAB, profile=CLASSIC, mode=HANGS) == 450

    def test_start_interval_never_ready_hanging(self):
        # 5 (ends 25), 30 (ends 50), 55 (ends 75; started < 60: not counted). At 75 the
        # start period is over: 105 (#1), then every 50: 155, ..., 455 (#8) ends at 475 —
        # later than classic, because the last start-interval probe hangs across S.
        assert starts(LAB, never_ready(HANGS), START_INTERVAL) == [5, 30, 55, 105, 155, 205, 255, 305, 355, 405, 455]
        assert time_to_unhealthy(LAB, profile=START_INTERVAL, mode=HANGS) == 475

    def test_healthy(self):
        # Ready at once: 30 (classic), 5 (start-interval). Ready at 50: classic probes
        # 30 (refused), 60 (passes) -> 60; start-interval 5..45 refused, 50 passes -> 50.
        assert time_to_healthy(LAB, profile=CLASSIC) == 30
        assert time_to_healthy(LAB, profile=START_INTERVAL) == 5
        assert time_to_healthy(LAB, profile=CLASSIC, ready=50) == 60
        assert time_to_healthy(LAB, profile=START_INTERVAL, ready=50) == 50

    @pytest.mark.parametrize("profile", [CLASSIC, START_INTERVAL])
    def test_detection_after_healthy(self, profile):
        # Fast: 7 × 30 = 210 best, + 30 worst = 240. Hanging: 7 × 50 + 20 = 370, + 30 = 400.
        assert detection_after_healthy(LAB, profile=profile, mode=REFUSED) == (210, 240)
        assert detection_after_healthy(LAB, profile=profile, mode=HANGS) == (370, 400)


def test_notes_shortcut_is_neither_bound():
    # chat: S + I×R = 165, yet HEALTHY can come at 5 s and a hanging never-ready
    # container is UNHEALTHY only at 245-250 s.
    assert notes_estimate(CHAT) == 165
    assert (
        time_to_healthy(CHAT, profile=START_INTERVAL)
        < 165
        < time_to_unhealthy(CHAT, profile=START_INTERVAL, mode=HANGS)
    )


# ---- behaviours ---------------------------------------------------------------------------------


def test_slow_passing_probe_times_out_and_counts_as_failure():
    check = HealthCheckSpec(interval=10, timeout=3, retries=2, start_period=0)
    sim = simulate(check, ready_at(0, ok_seconds=4), profile=CLASSIC, until=100, stop_at=UNHEALTHY)
    assert [(p.start, p.end, p.passed, p.timed_out) for p in sim.probes] == [
        (10, 13, False, True),
        (23, 26, False, True),
    ]
    assert sim.first(UNHEALTHY) == 26 and sim.first(HEALTHY) is None


def test_probe_result_is_decided_when_it_starts():
    # Ready at 15.5: the classic probe at 15 still fails (it began before the server was up).
    assert time_to_healthy(CHAT, profile=CLASSIC, ready=15.5) == 30
    assert fails_at(50, ready=10).mode_at(49.9) == UP and fails_at(50, ready=10).mode_at(50) == REFUSED


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(phases=()),
        dict(phases=((1.0, UP),)),
        dict(phases=((0.0, "down"),)),
        dict(phases=((0.0, UP),), ok_seconds=-1),
    ],
)
def test_behaviour_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        Behaviour(**kwargs)


# ---- closed forms (docs/design.md) over random valid specs ---------------------------------------


@st.composite
def checks(draw):
    interval = draw(st.integers(5, 300))
    return HealthCheckSpec(
        interval=interval,
        timeout=draw(st.integers(2, min(60, interval))),
        retries=draw(st.integers(1, 10)),
        start_period=draw(st.integers(0, 300)),
    )


def half_seconds(high):
    return st.integers(0, int(2 * high)).map(lambda n: n / 2)


@given(checks(), st.data())
def test_earliest_healthy(check, data):
    d = data.draw(half_seconds(check.timeout))
    # classic: I + d, not S.
    assert time_to_healthy(check, profile=CLASSIC, ok_seconds=d) == check.interval + d
    # start-interval: 5 s + d (or S + d when the start period is shorter; I + d without one).
    first = min(5, check.start_period) if check.start_period else check.interval
    assert time_to_healthy(check, profile=START_INTERVAL, ok_seconds=d) == first + d


@given(checks())
def test_never_ready_fast_failures(check):
    i, r, s = check.interval, check.retries, check.start_period
    # classic: first counted probe at ceil(S/I)·I (at least I), UNHEALTHY R-1 intervals later.
    assert time_to_unhealthy(check, profile=CLASSIC, mode=REFUSED) == max(i, math.ceil(s / i) * i) + (r - 1) * i
    # start-interval: a probe runs exactly when S ends and counts.
    assert time_to_unhealthy(check, profile=START_INTERVAL, mode=REFUSED) == (s if s else i) + (r - 1) * i


@given(checks())
def test_never_ready_hanging_probes(check):
    i, t, r, s = check.interval, check.timeout, check.retries, check.start_period
    for profile in (CLASSIC, START_INTERVAL):
        took = time_to_unhealthy(check, profile=profile, mode=HANGS)
        # "up to about S + R·(I + T) + T", and never before the R counted rounds after S.
        assert s + (r - 1) * (i + t) + t <= took <= s + r * (i + t) + t
    # classic exactly: probes at I + m(I + T); the first with start >= S counts first.
    first_counted = next(i + m * (i + t) for m in range(10_000) if i + m * (i + t) >= s)
    assert time_to_unhealthy(check, profile=CLASSIC, mode=HANGS) == first_counted + (r - 1) * (i + t) + t


@settings(max_examples=40, deadline=None)
@given(checks(), st.data())
def test_detection_after_healthy(check, data):
    i, t, r = check.interval, check.timeout, check.retries
    d = data.draw(half_seconds(t))
    for profile in (CLASSIC, START_INTERVAL):
        for mode, f in ((REFUSED, 0), (HANGS, t)):
            best, worst = detection_after_healthy(check, profile=profile, mode=mode, ok_seconds=d)
            # R failing rounds of I + f after the failure is first seen; worst adds the
            # I + d gap to the probe that sees it.
            assert best == (r - 1) * (i + f) + f
            assert worst == best + i + d
    # the design notes' "about R·(I + d)" (failing probes as long as passing ones) lies in [best, worst].
    best, worst = detection_after_healthy(check, profile=CLASSIC, mode=REFUSED, ok_seconds=d, fail_seconds=d)
    assert best <= r * (i + d) <= worst


@given(checks(), st.sampled_from([REFUSED, HANGS]), st.integers(0, 400), st.integers(1, 400))
def test_engine_invariants(check, mode, up, down):
    """Probes never overlap; a failure that started inside S before any success never counts."""
    behaviour = flapping(up, down, mode=mode) if up else never_ready(mode)
    for profile in (CLASSIC, START_INTERVAL):
        sim = simulate(check, behaviour, profile=profile, until=1500)
        for before, after in itertools.pairwise(sim.probes):
            assert after.start >= before.end
        healthy_yet = False
        for p in sim.probes:
            if not p.passed and not healthy_yet and p.start < check.start_period:
                assert not p.counted
            healthy_yet = healthy_yet or p.passed
            if p.status == UNHEALTHY:
                assert p.streak >= check.retries

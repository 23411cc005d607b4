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

from hubspec.health.healthstate import CLASSIC, HEALTHY, START_INTERVAL, UNHEALTHY
from hubspec.health.timing import (
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
from hubspec.model import HealthCheckSpec

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
        # The rendered curl gives up after --max-time 9 (timeout - 1), the next probe starts
        # 15 s after it ended: a round is 24 s.
        # 15 (ends 24), 39 (ends 48; started < 45: not counted), 63 #1, 87 #2, 111 #3,
        # 135 #4, 159 #5, 183 #6, 207 #7, 231 #8 ends at 240 -> UNHEALTHY at 240.
        # The notes' "Max Wait" S + I×R = 165 is 75 s short.
        assert starts(CHAT, never_ready(HANGS), CLASSIC) == [15, 39, 63, 87, 111, 135, 159, 183, 207, 231]
        assert time_to_unhealthy(CHAT, profile=CLASSIC, mode=HANGS) == 240

    def test_start_interval_never_ready_hanging(self):
        # Probes give up after 9 s. 5 (ends 14), 19 (ends 28), 33 (ends 42): started < 45,
        # not counted. From 42 the next would be 47 > S, so one runs when S ends: 45 (#1),
        # then every 24: 69, 93, 117, 141, 165, 189, 213 (#8), ending at 222.
        assert starts(CHAT, never_ready(HANGS), START_INTERVAL) == [5, 19, 33, 45, 69, 93, 117, 141, 165, 189, 213]
        assert time_to_unhealthy(CHAT, profile=START_INTERVAL, mode=HANGS) == 222

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
        # Hanging: rounds of 15 + 9 (the probe gives up after 9 s); the 8th failing probe ends
        # 7 × 24 + 9 = 177 s after the first one started; worst adds the 15 s interval: 192.
        assert detection_after_healthy(CHAT, profile=profile, mode=HANGS) == (177, 192)
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
        # Same schedule as chat: fast 150 in both profiles; hanging 240 classic, 222 start-interval.
        assert [
            time_to_unhealthy(WAIIDE, profile=p, mode=m) for p in (CLASSIC, START_INTERVAL) for m in (REFUSED, HANGS)
        ] == [150, 240, 150, 222]


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
        # The probe gives up after 19 s: rounds of 30 + 19 = 49 s: 30 (ends 49, not counted),
        # 79 (#1), 128, 177, 226, 275, 324, 373, 422 (#8) ends at 441.
        # Notes: "60s start + (30s × 8) = 300s max".
        assert starts(LAB, never_ready(HANGS), CLASSIC) == [30, 79, 128, 177, 226, 275, 324, 373, 422]
        assert time_to_unhealthy(LAB, profile=CLASSIC, mode=HANGS) == 441

    def test_start_interval_never_ready_hanging(self):
        # 5 (ends 24), 29 (ends 48), 53 (ends 72; started < 60: not counted). At 72 the
        # start period is over: 102 (#1), then every 49: 151, ..., 445 (#8) ends at 464 —
        # later than classic, because the last start-interval probe hangs across S.
        assert starts(LAB, never_ready(HANGS), START_INTERVAL) == [5, 29, 53, 102, 151, 200, 249, 298, 347, 396, 445]
        assert time_to_unhealthy(LAB, profile=START_INTERVAL, mode=HANGS) == 464

    def test_healthy(self):
        # Ready at once: 30 (classic), 5 (start-interval). Ready at 50: classic probes
        # 30 (refused), 60 (passes) -> 60; start-interval 5..45 refused, 50 passes -> 50.
        assert time_to_healthy(LAB, profile=CLASSIC) == 30
        assert time_to_healthy(LAB, profile=START_INTERVAL) == 5
        assert time_to_healthy(LAB, profile=CLASSIC, ready=50) == 60
        assert time_to_healthy(LAB, profile=START_INTERVAL, ready=50) == 50

    @pytest.mark.parametrize("profile", [CLASSIC, START_INTERVAL])
    def test_detection_after_healthy(self, profile):
        # Fast: 7 × 30 = 210 best, + 30 worst = 240. Hanging: 7 × 49 + 19 = 362, + 30 = 392.
        assert detection_after_healthy(LAB, profile=profile, mode=REFUSED) == (210, 240)
        assert detection_after_healthy(LAB, profile=profile, mode=HANGS) == (362, 392)


def test_notes_shortcut_is_neither_bound():
    # chat: S + I×R = 165, yet HEALTHY can come at 5 s and a hanging never-ready
    # container is UNHEALTHY only at 222-240 s.
    assert notes_estimate(CHAT) == 165
    assert (
        time_to_healthy(CHAT, profile=START_INTERVAL)
        < 165
        < time_to_unhealthy(CHAT, profile=START_INTERVAL, mode=HANGS)
    )


# ---- behaviours ---------------------------------------------------------------------------------


def test_slow_passing_probe_gives_up_and_counts_as_failure():
    # timeout 3: the rendered probe gives up after 2 s (curl --max-time 2), so a 2.5 s answer fails.
    check = HealthCheckSpec(interval=10, timeout=3, retries=2, start_period=0)
    sim = simulate(check, ready_at(0, ok_seconds=2.5), profile=CLASSIC, until=100, stop_at=UNHEALTHY)
    assert [(p.start, p.end, p.passed, p.timed_out) for p in sim.probes] == [
        (10, 12, False, True),
        (22, 24, False, True),
    ]
    assert sim.first(UNHEALTHY) == 24 and sim.first(HEALTHY) is None


def test_server_answering_after_the_rendered_give_up_time_fails_the_probe():
    """Issue 13 (a): chat's curl has --max-time 9 with timeout 10; a 9.5 s answer is a failure."""
    assert CHAT.give_up == 9
    sim = simulate(CHAT, ready_at(0, ok_seconds=9.5), profile=CLASSIC, until=400, stop_at=(HEALTHY, UNHEALTHY))
    assert sim.first(HEALTHY) is None and sim.first(UNHEALTHY) is not None
    assert all(not p.passed and p.end - p.start == 9 for p in sim.probes)
    # 8.5 s is below the give-up time: it passes.
    assert time_to_healthy(CHAT, profile=CLASSIC, ok_seconds=8.5) == 23.5


def test_custom_command_gives_up_at_its_own_max_time_or_the_timeout():
    with_cap = HealthCheckSpec(
        interval=15,
        timeout=10,
        retries=8,
        start_period=45,
        custom_health_command="curl -fsS --max-time 7 http://127.0.0.1:3000/health || exit 1",
    )
    without = HealthCheckSpec(
        interval=15,
        timeout=10,
        retries=8,
        start_period=45,
        custom_health_command="curl -fsS http://127.0.0.1:3000/health || exit 1",
    )
    assert (with_cap.give_up, without.give_up) == (7, 10)
    assert time_to_unhealthy(with_cap, profile=CLASSIC, mode=HANGS) < time_to_unhealthy(
        without, profile=CLASSIC, mode=HANGS
    )


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
    d = data.draw(half_seconds(check.give_up - 0.5))  # a passing probe ends before the probe gives up
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
    # A hanging probe runs until the probe gives up: G = T - 1 for the rendered probes.
    i, t, r, s = check.interval, check.give_up, check.retries, check.start_period
    for profile in (CLASSIC, START_INTERVAL):
        took = time_to_unhealthy(check, profile=profile, mode=HANGS)
        # "up to about S + R·(I + G) + G", and never before the R counted rounds after S.
        assert s + (r - 1) * (i + t) + t <= took <= s + r * (i + t) + t
    # classic exactly: probes at I + m(I + G); the first with start >= S counts first.
    first_counted = next(i + m * (i + t) for m in range(10_000) if i + m * (i + t) >= s)
    assert time_to_unhealthy(check, profile=CLASSIC, mode=HANGS) == first_counted + (r - 1) * (i + t) + t


@settings(max_examples=40, deadline=None)
@given(checks(), st.data())
def test_detection_after_healthy(check, data):
    i, t, r = check.interval, check.give_up, check.retries  # hanging probes run until they give up
    d = data.draw(half_seconds(t - 0.5))
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


def test_chained_timeline_adds_the_sidecars_time_to_healthy():
    """The server starts when its HEALTHY dependency is HEALTHY; every server number shifts by that much,
    and an essential sidecar that never answers makes the task UNHEALTHY on its own check."""
    from hubspec import load_catalog
    from hubspec.health.timing import HANGS, PROFILES, REFUSED, chained_timings, time_to_healthy, time_to_unhealthy
    from tests.catalogs import FIXTURE_SIZES, REPO

    spec = load_catalog(REPO / "tests" / "cdk" / "inputs" / "sidecars" / "services", FIXTURE_SIZES).service("chat")
    agent = spec.container("data-agent").health_check
    for profile in PROFILES:
        chained = chained_timings(spec, profile=profile)
        starts = time_to_healthy(agent, profile=profile)
        assert chained.sidecars_healthy == (("data-agent", starts),) and chained.server_starts == starts
        assert chained.ready == starts + time_to_healthy(spec.health_check, profile=profile)
        assert chained.never_ready_hangs == starts + time_to_unhealthy(spec.health_check, profile=profile, mode=HANGS)
        assert chained.sidecar_never_ready == (
            (
                "data-agent",
                time_to_unhealthy(agent, profile=profile, mode=REFUSED),
                time_to_unhealthy(agent, profile=profile, mode=HANGS),
            ),
        )
        assert chained.worst[0] == chained.never_ready_hangs


def test_no_healthy_dependency_means_no_chain():
    from hubspec import load_catalog
    from hubspec.health.timing import chained_timings
    from tests.catalogs import HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES

    for spec in load_catalog(HUB_CATALOG_SERVICES, HUB_CATALOG_SIZES).services:
        assert chained_timings(spec, profile="classic") is None

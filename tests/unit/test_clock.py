"""The one clock (``linkstar.clock``) and the local stack's rules for moving it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from linkstar import clock

from infra.local import api, runtime, schedule
from infra.local import clock as local_clock

MARCH_2 = datetime(2026, 3, 2, 1, 58, 30, tzinfo=UTC)


@pytest.fixture
def clock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clock file the process reads through ``$LINKSTAR_CLOCK_FILE`` (not created yet)."""
    path = tmp_path / "clock.json"
    monkeypatch.setenv(clock.CLOCK_FILE_ENV, str(path))
    yield path


def assert_close(moment: datetime, expected: datetime, seconds: float = 5) -> None:
    assert abs((moment - expected).total_seconds()) < seconds, (moment, expected)


# ---------------------------------------------------------------- linkstar.clock


def test_without_a_clock_file_now_is_the_system_time_in_utc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given: no clock file configured, as in AWS
    monkeypatch.delenv(clock.CLOCK_FILE_ENV, raising=False)

    # When
    moment = clock.now()

    # Then
    assert moment.tzinfo is UTC
    assert_close(moment, datetime.now(UTC))
    assert clock.offset_seconds() == 0.0


def test_a_configured_but_missing_clock_file_means_no_offset(clock_file: Path) -> None:
    assert not clock_file.exists()

    assert clock.offset_seconds() == 0.0
    assert_close(clock.now(), datetime.now(UTC))


def test_now_adds_the_offset_in_the_clock_file(clock_file: Path) -> None:
    # Given: the stack's clock moved a day ahead
    clock.set_offset(clock_file, 86_400)

    # When
    moment = clock.now()

    # Then
    assert json.loads(clock_file.read_text()) == {"offset_seconds": 86_400.0}
    assert clock.offset_seconds() == 86_400.0
    assert_close(moment, datetime.now(UTC) + timedelta(days=1))
    # Written through a scratch file and a rename: nothing else is left in the directory.
    assert [p.name for p in clock_file.parent.iterdir()] == ["clock.json"]


def test_the_file_is_read_again_only_when_it_changes(
    clock_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: a clock file, and a count of how often its content is read
    clock.set_offset(clock_file, 60)
    reads: list[Path] = []
    real_read = clock._read_offset

    def counting_read(path: Path) -> float:
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(clock, "_read_offset", counting_read)

    # When: now() is called many times without the file changing
    for _ in range(50):
        clock.now()

    # Then: the content was read at most once (the cache may already hold it)
    assert len(reads) <= 1
    assert clock.offset_seconds() == 60.0

    # When: the offset is rewritten twice in quick succession (same timestamp tick, maybe)
    clock.set_offset(clock_file, 120)
    clock.set_offset(clock_file, 180)

    # Then: the latest value is seen at once, and cached again
    assert clock.offset_seconds() == 180.0
    count = len(reads)
    clock.now()
    assert len(reads) == count


def test_removing_the_clock_file_returns_to_real_time(clock_file: Path) -> None:
    clock.set_offset(clock_file, 3_600)
    assert clock.offset_seconds() == 3_600.0

    clock_file.unlink()

    assert clock.offset_seconds() == 0.0


@pytest.mark.parametrize("content", ["not json", "[]", '{"offset_seconds": "1"}', "{}"])
def test_a_clock_file_that_is_not_an_offset_is_an_error(clock_file: Path, content: str) -> None:
    # A wrong clock must be loud: silently running at real time would hide a broken stack.
    clock_file.write_text(content)

    with pytest.raises(clock.ClockFileError):
        clock.now()


def test_set_offset_refuses_a_non_finite_offset(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="finite"):
        clock.set_offset(tmp_path / "clock.json", float("nan"))
    assert not (tmp_path / "clock.json").exists()


def test_override_pins_now_for_every_thread_and_can_be_moved(clock_file: Path) -> None:
    # Given: a clock file saying something else, which an override takes precedence over
    clock.set_offset(clock_file, 999_999)

    # When: the clock is pinned and read from another thread
    with clock.override(MARCH_2) as pinned:
        seen: list[datetime] = []
        reader = threading.Thread(target=lambda: seen.append(clock.now()))
        reader.start()
        reader.join()
        pinned.advance(minutes=2)
        moved = clock.now()

    # Then
    assert seen == [MARCH_2]
    assert moved == MARCH_2 + timedelta(minutes=2)
    assert_close(clock.now(), datetime.now(UTC) + timedelta(seconds=999_999))


def test_overrides_nest_and_restore_the_outer_time() -> None:
    later = MARCH_2 + timedelta(days=1)
    with clock.override(MARCH_2):
        with clock.override(later):
            assert clock.now() == later
        assert clock.now() == MARCH_2


def test_override_needs_an_aware_time_and_answers_in_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"), clock.override(datetime(2026, 3, 2)):
        pass
    tokyo = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    with clock.override(tokyo):
        assert clock.now() == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
        assert clock.now().tzinfo is UTC


def test_the_local_stack_reads_the_same_clock() -> None:
    # One clock: the schedules the local stack fires and the code they invoke agree on the time.
    with clock.override(MARCH_2):
        assert local_clock.now() == MARCH_2
    assert runtime.CLOCK_FILE_ENV == clock.CLOCK_FILE_ENV


# ---------------------------------------------------------------- POST /_local/clock's rules


def test_advancing_adds_to_the_offset() -> None:
    change = api.ClockChange.from_body({"advance_seconds": 86_400})

    offset, moved_to = change.apply(offset=60.0, system_now=MARCH_2)

    assert offset == 86_460.0
    assert moved_to == MARCH_2 + timedelta(days=1, minutes=1)


def test_setting_a_later_time_offsets_the_system_clock_to_it() -> None:
    change = api.ClockChange.from_body({"set": "2026-04-01T00:00:00Z"})

    offset, moved_to = change.apply(offset=0.0, system_now=MARCH_2)

    assert moved_to == datetime(2026, 4, 1, tzinfo=UTC)
    assert offset == (moved_to - MARCH_2).total_seconds()


@pytest.mark.parametrize(
    "body",
    [{"advance_seconds": -1}, {"set": "2026-03-02T01:00:00+00:00"}],
)
def test_the_clock_never_moves_backwards(body: dict[str, object]) -> None:
    with pytest.raises(api.ClockRequestError) as error:
        api.ClockChange.from_body(body).apply(offset=0.0, system_now=MARCH_2)

    assert error.value.code == "clock_backwards"


@pytest.mark.parametrize(
    "body",
    [
        {},
        [],
        {"advance_seconds": "60"},
        {"advance_seconds": True},
        {"advance_seconds": float("inf")},
        {"advance_seconds": 60, "set": "2026-04-01T00:00:00Z"},
        {"set": "tomorrow"},
        {"set": "2026-04-01T00:00:00"},  # no offset: which zone's midnight?
        {"set": 1_775_000_000},
        {"rewind": 60},
    ],
)
def test_anything_else_is_an_invalid_clock_request(body: object) -> None:
    with pytest.raises(api.ClockRequestError) as error:
        api.ClockChange.from_body(body)

    assert error.value.code == "invalid_clock_request"


def test_a_time_past_the_calendar_is_an_invalid_clock_request() -> None:
    change = api.ClockChange.from_body({"advance_seconds": 1e15})

    with pytest.raises(api.ClockRequestError) as error:
        change.apply(offset=0.0, system_now=MARCH_2)

    assert error.value.code == "invalid_clock_request"


@pytest.mark.parametrize(
    ("expression", "jump"),
    [
        ("rate(1 minute)", timedelta(days=3, seconds=17)),
        ("rate(5 minutes)", timedelta(minutes=4)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("cron(0 2 * * ? *)", timedelta(days=9)),
        ("cron(0/15 * * * ? *)", timedelta(hours=5, minutes=7)),
    ],
)
def test_latest_due_is_the_last_time_the_schedule_passed(expression: str, jump: timedelta) -> None:
    # Given: a schedule due at `first`, and the clock jumping past it
    parsed = schedule.parse(expression)
    first = parsed.first_after(MARCH_2)
    now = first + jump

    # When
    due, skipped = runtime.latest_due(parsed, first, now)

    # Then: the same answer as walking the schedule one time after another
    walked, steps = first, 0
    while parsed.next_after(walked) <= now:
        walked, steps = parsed.next_after(walked), steps + 1
    assert (due, skipped) == (walked, steps)
    assert due <= now < parsed.next_after(due)

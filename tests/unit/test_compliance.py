"""Send-time compliance: quiet hours (zones, DST, state rules, tenant rules), frequency caps and
the reputation breaker (pure logic, no AWS, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from linkstar.outreach.compliance import (
    DEFAULT_CAPS,
    LEGAL_RULES,
    FrequencyCap,
    NoSendWindow,
    QuietHoursRule,
    allowed_window,
    cap_release,
    caps_for,
    caps_release,
    country_zones,
    describe_hold,
    next_allowed,
    reputation_status,
    trim_recent_sends,
    us_state_for_phone,
)
from pydantic import ValidationError


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, zone: str) -> datetime:
    """A wall-clock time in ``zone`` as an aware UTC instant (unambiguous times only)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def sms_at(at: datetime, zone: str | None, country: str | None, region=None, **kw) -> datetime:
    return next_allowed(at, zone, country, region, "sms", "marketing", **kw)


NY, LA, CHI, BERLIN = "America/New_York", "America/Los_Angeles", "America/Chicago", "Europe/Berlin"


# --- quiet hours across zones -----------------------------------------------------------------


def test_early_morning_in_los_angeles_waits_for_eight_local() -> None:
    # Given a Wednesday 06:00 PDT (13:00 UTC) marketing SMS to a Californian
    at = utc("2026-06-10T13:00")
    # When the next allowed instant is asked for
    result = sms_at(at, LA, "US", "CA")
    # Then it goes out at 08:00 PDT, which is 15:00 UTC
    assert result == utc("2026-06-10T15:00")


def test_inside_the_window_sends_now() -> None:
    # Given noon in New York
    at = local("2026-06-10T12:00", NY)
    # When / Then the send is allowed at once, at the very same instant
    assert sms_at(at, NY, "US", "NY") == at


def test_evening_in_new_york_waits_until_next_morning() -> None:
    # Given 21:30 EDT, after the federal 21:00 end
    at = local("2026-06-10T21:30", NY)
    # When
    result = sms_at(at, NY, "US", "NY")
    # Then it waits for 08:00 EDT the next day (12:00 UTC)
    assert result == utc("2026-06-11T12:00")


def test_window_end_is_exclusive() -> None:
    # Given exactly 21:00:00 local
    at = local("2026-06-10T21:00", NY)
    # When / Then it is already quiet hours
    assert sms_at(at, NY, "US", "NY") == local("2026-06-11T08:00", NY)


def test_shanghai_uses_the_default_window() -> None:
    # Given 07:30 in Shanghai (23:30 UTC the day before)
    at = utc("2026-06-10T23:30")
    # When
    result = sms_at(at, "Asia/Shanghai", "CN")
    # Then 08:00 CST is midnight UTC
    assert result == utc("2026-06-11T00:00")


def test_berlin_in_winter() -> None:
    # Given 07:00 CET on a January morning
    at = utc("2026-01-15T06:00")
    # When
    result = next_allowed(at, BERLIN, "DE", None, "whatsapp", "marketing")
    # Then 08:00 CET = 07:00 UTC
    assert result == utc("2026-01-15T07:00")


# --- DST changes ------------------------------------------------------------------------------


def test_us_spring_forward_moves_eight_am_an_hour_earlier_in_utc() -> None:
    # Given 07:30 local in New York on the Saturday before and on the Sunday of the change
    saturday = utc("2026-03-07T12:30")  # 07:30 EST
    sunday = utc("2026-03-08T11:30")  # 07:30 EDT, clocks went forward at 02:00
    monday = utc("2026-03-09T11:30")  # 07:30 EDT
    # When / Then each waits for 08:00 local, which is 13:00 UTC before and 12:00 UTC after
    assert sms_at(saturday, NY, "US", "NY") == utc("2026-03-07T13:00")
    assert sms_at(sunday, NY, "US", "NY") == utc("2026-03-08T12:00")
    assert sms_at(monday, NY, "US", "NY") == utc("2026-03-09T12:00")


def test_us_fall_back_moves_eight_am_an_hour_later_in_utc() -> None:
    # Given 07:30 local on the Sunday clocks went back (New York and Los Angeles)
    new_york = utc("2026-11-01T12:30")  # 07:30 EST
    los_angeles = utc("2026-11-01T15:30")  # 07:30 PST
    # When / Then 08:00 local is 13:00 UTC and 16:00 UTC
    assert sms_at(new_york, NY, "US", "NY") == utc("2026-11-01T13:00")
    assert sms_at(los_angeles, LA, "US", "CA") == utc("2026-11-01T16:00")


def test_overnight_hold_across_fall_back_lasts_an_extra_hour() -> None:
    # Given 21:30 EDT on the Saturday night before clocks go back
    at = utc("2026-11-01T01:30")
    # When
    result = sms_at(at, NY, "US", "NY")
    # Then it waits for 08:00 EST: 10.5 hours on the wall clock, 11.5 real hours
    assert result == utc("2026-11-01T13:00")
    assert result - at == timedelta(hours=10, minutes=30) + timedelta(hours=1)


def test_eu_summer_time_changes() -> None:
    # Given 07:30 in Berlin around both 2026 changes (29 March, 25 October)
    before_spring = utc("2026-03-28T06:30")  # 07:30 CET
    spring = utc("2026-03-29T05:30")  # 07:30 CEST
    autumn = utc("2026-10-25T06:30")  # 07:30 CET again
    # When / Then each moves to 08:00 local with the right offset
    assert sms_at(before_spring, BERLIN, "DE") == utc("2026-03-28T07:00")
    assert sms_at(spring, BERLIN, "DE") == utc("2026-03-29T06:00")
    assert sms_at(autumn, BERLIN, "DE") == utc("2026-10-25T07:00")


def test_window_starting_in_a_spring_forward_gap_opens_at_the_transition() -> None:
    # Given a tenant's in-app window from 02:30, a wall time New York skips on 8 March 2026
    rule = QuietHoursRule(country="US", channels={"in_app"}, start="02:30", end="23:00")
    at = utc("2026-03-08T06:00")  # 01:00 EST
    # When
    result = next_allowed(at, NY, "US", "NY", "in_app", "marketing", [rule])
    # Then it opens when the clock jumps to 03:00 EDT (07:00 UTC), the first instant >= 02:30
    assert result == utc("2026-03-08T07:00")


def test_window_starting_in_a_fall_back_fold_follows_the_wall_clock() -> None:
    # Given a tenant's in-app window from 01:30, a wall time New York shows twice on 1 Nov 2026
    rule = QuietHoursRule(country="US", channels={"in_app"}, start="01:30", end="23:00")

    def send(at: datetime) -> datetime:
        return next_allowed(at, NY, "US", "NY", "in_app", "marketing", [rule])

    # When / Then 01:10 EDT waits for 01:30 EDT, which is allowed
    assert send(utc("2026-11-01T05:10")) == utc("2026-11-01T05:30")
    assert send(utc("2026-11-01T05:45")) == utc("2026-11-01T05:45")
    # And after the clocks go back to 01:00 EST it is before 01:30 again: wait for 01:30 EST
    assert send(utc("2026-11-01T06:10")) == utc("2026-11-01T06:30")


def test_tenant_window_across_midnight_and_a_dst_change() -> None:
    # Given a tenant who wants in-app nudges only 22:00-06:00 Berlin time
    rule = QuietHoursRule(country="DE", channels={"in_app"}, start="22:00", end="06:00")

    def send(at: datetime) -> datetime:
        return next_allowed(at, BERLIN, "DE", None, "in_app", "marketing", [rule])

    # When / Then midday waits for 22:00 CET (21:00 UTC) on the Saturday of the spring change
    assert send(utc("2026-03-28T11:00")) == utc("2026-03-28T21:00")
    # And the night window closes at 06:00 CEST, 04:00 UTC, after only seven real hours
    assert send(utc("2026-03-29T03:59")) == utc("2026-03-29T03:59")
    assert send(utc("2026-03-29T04:00")) == utc("2026-03-29T20:00")


# --- US state rules ---------------------------------------------------------------------------


def test_florida_ends_at_eight_pm() -> None:
    # Given 20:30 EDT, fine federally but after Florida's 20:00
    at = local("2026-06-10T20:30", NY)
    # When / Then Florida waits for the next morning, New York does not
    assert sms_at(at, NY, "US", "FL") == local("2026-06-11T08:00", NY)
    assert sms_at(at, NY, "US", "NY") == at
    # And 19:59 is still fine in Florida
    before = local("2026-06-10T19:59", NY)
    assert sms_at(before, NY, "US", "FL") == before


def test_florida_panhandle_in_central_time() -> None:
    # Given 20:30 CDT in the Florida panhandle
    at = local("2026-06-10T20:30", CHI)
    # When / Then it waits for 08:00 CDT (13:00 UTC)
    assert sms_at(at, CHI, "US", "FL") == utc("2026-06-11T13:00")


def test_connecticut_starts_at_nine_am() -> None:
    # Given 08:30 EDT in Connecticut
    at = local("2026-06-10T08:30", NY)
    # When / Then it waits for 09:00 EDT
    assert sms_at(at, NY, "US", "CT") == local("2026-06-10T09:00", NY)


def test_nevada_runs_nine_to_eight() -> None:
    # Given 08:30 and 20:00 PDT in Nevada
    morning, evening = local("2026-06-10T08:30", LA), local("2026-06-10T20:00", LA)
    # When / Then both wait for 09:00 PDT
    assert sms_at(morning, LA, "US", "NV") == local("2026-06-10T09:00", LA)
    assert sms_at(evening, LA, "US", "NV") == local("2026-06-11T09:00", LA)


def test_texas_sunday_starts_at_noon() -> None:
    # Given 10:00 CDT on Sunday 14 June 2026 and on the Saturday before
    sunday, saturday = local("2026-06-14T10:00", CHI), local("2026-06-13T10:00", CHI)
    # When / Then Sunday waits for noon (17:00 UTC); Saturday sends now
    assert sms_at(sunday, CHI, "US", "TX") == utc("2026-06-14T17:00")
    assert sms_at(saturday, CHI, "US", "TX") == saturday
    # And on weekdays and Saturdays Texas starts at 09:00, and Saturday night waits for Sunday noon
    assert sms_at(local("2026-06-13T08:30", CHI), CHI, "US", "TX") == local("2026-06-13T09:00", CHI)
    assert sms_at(local("2026-06-13T21:30", CHI), CHI, "US", "TX") == local("2026-06-14T12:00", CHI)


def test_alabama_has_no_sunday_sends() -> None:
    # Given Saturday 20:30 CDT in Alabama
    at = local("2026-06-13T20:30", CHI)
    # When / Then nothing goes out until Monday 08:00
    assert sms_at(at, CHI, "US", "AL") == local("2026-06-15T08:00", CHI)


def test_every_region_given_applies() -> None:
    # Given a contact living in New York whose phone has a Connecticut area code
    at = local("2026-06-10T08:30", NY)
    # When both regions are passed
    result = sms_at(at, NY, "US", {"NY", "CT"})
    # Then the stricter Connecticut start applies
    assert result == local("2026-06-10T09:00", NY)


def test_unplaced_us_number_gets_the_intersection_of_all_state_rules() -> None:
    # Given a US contact in New York time whose state is unknown
    # When / Then Connecticut's 09:00 start and Florida's 20:00 end apply
    assert sms_at(local("2026-06-10T08:30", NY), NY, "US") == local("2026-06-10T09:00", NY)
    assert sms_at(local("2026-06-10T20:30", NY), NY, "US") == local("2026-06-11T09:00", NY)
    # And no state allowing Sunday sends in all of them (AL, LA, MS close), Saturday night
    # waits for Monday
    assert sms_at(local("2026-06-13T20:30", NY), NY, "US") == local("2026-06-15T09:00", NY)


# --- unknown time zone ------------------------------------------------------------------------


def test_unknown_zone_must_be_allowed_in_every_zone_of_the_country() -> None:
    # Given a Florida contact whose time zone is unknown, at 11:00 EDT on a Wednesday
    at = utc("2026-06-10T15:00")
    # When
    result = sms_at(at, None, "US", "FL")
    # Then it waits until it is 08:00 in Honolulu, the last US zone to reach it (18:00 UTC)
    assert result == utc("2026-06-10T18:00")
    # And at that instant every US zone is inside Florida's 08:00-20:00
    for zone in country_zones("US"):
        wall = result.astimezone(ZoneInfo(zone)).time()
        assert time(8) <= wall < time(20), zone


def test_candidate_zones_of_a_phone_are_all_checked() -> None:
    # Given a Florida number that may be in Eastern or Central time, at 07:30 EDT
    at = local("2026-06-10T07:30", NY)
    # When both candidate zones are passed
    result = sms_at(at, [NY, CHI], "US", "FL")
    # Then it waits for 08:00 in Chicago (13:00 UTC), 09:00 in New York
    assert result == utc("2026-06-10T13:00")


def test_malformed_zone_is_treated_as_unknown() -> None:
    # Given a contact whose stored zone is not a real zone
    at = utc("2026-06-10T15:00")
    # When / Then the country's zones are used, as with no zone at all
    assert sms_at(at, "Mars/Olympus", "US", "FL") == sms_at(at, None, "US", "FL")


def test_known_zone_supplies_the_country() -> None:
    # Given a zone but no country
    # When / Then Shanghai gets the default window
    assert sms_at(utc("2026-06-10T23:30"), "Asia/Shanghai", None) == utc("2026-06-11T00:00")
    # And a US zone brings every US state rule (state unknown): Saturday night waits for Monday
    at = local("2026-06-13T20:30", CHI)
    assert sms_at(at, CHI, None) == local("2026-06-15T09:00", CHI)


def test_no_zone_and_no_country_holds_marketing_texts() -> None:
    # Given a contact with neither time zone nor country
    at = utc("2026-06-10T15:00")
    # When a marketing SMS is due
    with pytest.raises(NoSendWindow) as raised:
        sms_at(at, None, None)
    # Then it is held with a reason, never guessed
    assert raised.value.reason == "no time zone"
    assert (
        describe_hold(at, None, why=raised.value.reason)
        == "no time zone until 2026-06-10T15:00+00:00"
    )
    # But a transactional SMS and a marketing email (no quiet hours) go now
    assert next_allowed(at, None, None, None, "sms", "transactional") == at
    assert next_allowed(at, None, None, None, "email", "marketing") == at


# --- channels, purposes, tenant rules ---------------------------------------------------------


def test_transactional_and_email_have_no_quiet_hours_by_default() -> None:
    # Given 03:00 in New York
    at = local("2026-06-10T03:00", NY)
    # When / Then a shipping SMS, a marketing email and an in-app message go at once
    assert next_allowed(at, NY, "US", "FL", "sms", "transactional") == at
    assert next_allowed(at, NY, "US", "FL", "email", "marketing") == at
    assert next_allowed(at, NY, "US", "FL", "in_app", "marketing") == at


def test_tenant_rule_narrows_the_window() -> None:
    # Given a tenant that only texts US contacts 10:00-18:00
    rule = QuietHoursRule(country="US", channels={"sms"}, start="10:00", end="18:00")
    # When / Then 08:30 waits for 10:00 and 18:30 for the next day's 10:00
    morning, evening = local("2026-06-10T08:30", NY), local("2026-06-10T18:30", NY)
    assert sms_at(morning, NY, "US", "NY", tenant_rules=[rule]) == local("2026-06-10T10:00", NY)
    assert sms_at(evening, NY, "US", "NY", tenant_rules=[rule]) == local("2026-06-11T10:00", NY)
    # And WhatsApp, which the rule doesn't name, keeps the legal window
    assert next_allowed(morning, NY, "US", "NY", "whatsapp", "marketing", [rule]) == morning


def test_tenant_rule_can_never_widen_the_legal_window() -> None:
    # Given a tenant rule of 06:00-23:00 for US texts, wider than the law
    rule = QuietHoursRule(country="US", channels={"sms", "whatsapp"}, start="06:00", end="23:00")
    # When / Then 07:00 still waits for 08:00 and 21:30 for the next morning
    early, late = local("2026-06-10T07:00", NY), local("2026-06-10T21:30", NY)
    assert sms_at(early, NY, "US", "NY", tenant_rules=[rule]) == local("2026-06-10T08:00", NY)
    assert sms_at(late, NY, "US", "NY", tenant_rules=[rule]) == local("2026-06-11T08:00", NY)
    # And in Florida the state's 20:00 end still wins over the tenant's 23:00
    florida = local("2026-06-10T20:30", NY)
    assert sms_at(florida, NY, "US", "FL", tenant_rules=[rule]) == local("2026-06-11T08:00", NY)


def test_tenant_weekday_override_closes_sundays_for_email() -> None:
    # Given a tenant sending German marketing email 09:00-20:00, never on Sundays
    rule = QuietHoursRule(
        country="DE", channels={"email"}, start="09:00", end="20:00", days={6: None}
    )
    at = local("2026-06-14T10:00", BERLIN)  # a Sunday
    # When
    result = next_allowed(at, BERLIN, "DE", None, "email", "marketing", [rule])
    # Then it waits for Monday 09:00
    assert result == local("2026-06-15T09:00", BERLIN)


def test_tenant_rule_that_never_meets_the_law_holds() -> None:
    # Given a tenant window that lies entirely in legal quiet hours
    rule = QuietHoursRule(country="US", channels={"sms"}, start="22:00", end="23:00")
    # When / Then no instant is ever allowed
    with pytest.raises(NoSendWindow, match="no common send window"):
        sms_at(local("2026-06-10T12:00", NY), NY, "US", "NY", tenant_rules=[rule])


def test_allowed_window_lists_the_rules_that_apply() -> None:
    # Given a tenant rule for Californian texts only
    california = QuietHoursRule(
        country="US", region="CA", channels={"sms"}, start="09:00", end="19:00"
    )
    # When the rules are looked up
    florida = allowed_window("US", "FL", "sms", "marketing", [california])
    unplaced = allowed_window("US", None, "sms", "marketing", [california])
    # Then Florida gets the default, federal and Florida rules, not the Californian one
    assert [(r.country, r.region) for r in florida] == [("*", None), ("US", None), ("US", "FL")]
    # And an unplaced number gets every state rule, including the tenant's Californian one
    assert {r.region for r in unplaced} >= {"FL", "NV", "CT", "OK", "WA", "TX", "MD", "CA"}
    assert california in allowed_window("us", "ca", "sms", "marketing", [california])
    # And transactional texts and marketing email have none
    assert allowed_window("US", "FL", "sms", "transactional") == []
    assert allowed_window("US", "FL", "email", "marketing") == []


def test_legal_rules_cover_the_required_states_and_cite_sources() -> None:
    # Given the legal table
    by_region = {r.region: r for r in LEGAL_RULES if r.country == "US"}
    # Then the states with stricter hours are there, each citing its source
    assert {"FL", "NV", "CT", "OK", "WA", "TX", "MD"} <= set(by_region)
    assert (by_region["FL"].start, by_region["FL"].end) == (time(8), time(20))
    assert (by_region["CT"].start, by_region["CT"].end) == (time(9), time(20))
    assert by_region["TX"].window_on(6) == (time(12), time(21))
    assert all(rule.source and rule.source != "tenant" for rule in LEGAL_RULES)
    assert all(rule.channels == {"sms", "whatsapp"} for rule in LEGAL_RULES)


def test_rule_validation_and_json_round_trip() -> None:
    # Given a rule as a tenant would store it
    rule = QuietHoursRule(
        country="us", region="tx", channels={"sms"}, start="10:00", end="18:00", days={6: None}
    )
    # When it goes through JSON (how policy.OutreachSettings keeps it)
    again = QuietHoursRule.model_validate(rule.model_dump(mode="json"))
    # Then it comes back equal and normalised
    assert again == rule and (again.country, again.region) == ("US", "TX")
    # And ambiguous or impossible rules are refused
    for bad in (
        {"start": "09:00", "end": "09:00"},
        {"days": {7: None}},
        {"days": {1: ("10:00", "10:00")}},
        {"country": "USA"},
        {"country": "*", "region": "FL"},
        {"channels": set()},
        {"channels": {"fax"}},
    ):
        fields = {"country": "US", "channels": {"sms"}, "start": "09:00", "end": "18:00"} | bad
        with pytest.raises(ValidationError):
            QuietHoursRule(**fields)


def test_naive_instants_are_refused() -> None:
    # Given a naive datetime
    # When / Then the functions refuse it rather than guess its zone
    with pytest.raises(ValueError):
        sms_at(datetime(2026, 6, 10, 12), NY, "US", "NY")
    with pytest.raises(ValueError):
        cap_release([], DEFAULT_CAPS[0], datetime(2026, 6, 10, 12))


# --- hold reasons -----------------------------------------------------------------------------


def test_describe_hold_shows_local_time_with_offset() -> None:
    # Given a hold until 16:00 UTC on 11 November 2026
    until = utc("2026-11-11T16:00")
    # When / Then it reads in the recipient's zone, else in UTC
    assert describe_hold(until, LA) == "quiet hours until 2026-11-11T08:00-08:00"
    assert (
        describe_hold(utc("2026-06-10T06:00"), BERLIN) == "quiet hours until 2026-06-10T08:00+02:00"
    )
    assert describe_hold(until, None) == "quiet hours until 2026-11-11T16:00+00:00"
    assert (
        describe_hold(until, LA, why="frequency cap")
        == "frequency cap until 2026-11-11T08:00-08:00"
    )


# --- US states from phone numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "state"),
    [
        ("+13052091234", "FL"),  # Miami
        ("+17022091234", "NV"),  # Las Vegas
        ("+12032091234", "CT"),
        ("+14052091234", "OK"),
        ("+12062091234", "WA"),  # "Washington State"
        ("+15122091234", "TX"),
        ("+13012091234", "MD"),
        ("+12052091234", "AL"),
        ("+12122091234", "NY"),  # "New York, NY"
        ("+12016311234", "NJ"),  # the area code's state, not the exchange's "New York, NY"
        ("+17132091234", "TX"),  # Houston: geocoded per exchange only
        ("+12022091234", "DC"),
        ("+18002091234", None),  # toll-free: no place
        ("+16132091234", None),  # Ottawa: +1 but Canada
        ("+442071234567", None),
        ("+1555", None),
        ("not a number", None),
        (None, None),
    ],
)
def test_us_state_for_phone(phone: str | None, state: str | None) -> None:
    # Given a phone number / When it is placed / Then its area code's state (or None)
    assert us_state_for_phone(phone) == state


def test_placed_phone_feeds_the_state_rule() -> None:
    # Given a Connecticut number at 08:30 EDT
    at = local("2026-06-10T08:30", NY)
    # When its state drives the rules
    result = sms_at(at, NY, "US", us_state_for_phone("+12032091234"))
    # Then Connecticut's 09:00 start applies
    assert result == local("2026-06-10T09:00", NY)


# --- frequency caps ---------------------------------------------------------------------------


def test_default_caps() -> None:
    # Given the defaults / Then one marketing SMS or WhatsApp a day and one email per 16 hours
    caps = {(c.channel, c.purpose): (c.max_messages, c.per_seconds) for c in DEFAULT_CAPS}
    assert caps == {
        ("sms", "marketing"): (1, 86400),
        ("whatsapp", "marketing"): (1, 86400),
        ("email", "marketing"): (1, 57600),
    }


def test_transactional_messages_are_never_capped() -> None:
    # Given a tenant that (wrongly) configured a transactional cap
    odd = FrequencyCap(channel="sms", purpose="transactional", max_messages=1, per_seconds=60)
    # When / Then transactional sends have no caps at all
    assert caps_for("sms", "transactional", [odd]) == []
    assert caps_for("email", "transactional") == []
    # And marketing sends have the configured cap plus the legal 3-per-24h floor for texts
    assert [(c.max_messages, c.per_seconds) for c in caps_for("sms", "marketing")] == [
        (1, 86400),
        (3, 86400),
    ]
    assert [c.max_messages for c in caps_for("email", "marketing")] == [1]


def test_cap_release_for_one_a_day() -> None:
    # Given the one-a-day SMS cap
    cap = caps_for("sms", "marketing")[0]
    at = utc("2026-06-10T12:00")
    # When / Then no recent send: within the cap
    assert cap_release([], cap, at) is None
    # And a send 10 hours ago: wait until it is 24 hours old
    assert cap_release([at - timedelta(hours=10)], cap, at) == at + timedelta(hours=14)
    # And a send exactly 24 hours or more ago no longer counts
    assert cap_release([at - timedelta(hours=24)], cap, at) is None
    assert cap_release([at - timedelta(hours=30)], cap, at) is None


def test_email_cap_is_sixteen_hours() -> None:
    # Given a marketing email sent 15 hours ago
    (cap,) = caps_for("email", "marketing")
    at = utc("2026-06-10T12:00")
    # When / Then the next one waits one more hour
    assert cap_release([at - timedelta(hours=15)], cap, at) == at + timedelta(hours=1)


def test_cap_release_with_several_allowed() -> None:
    # Given three per day and three sends in the last day
    cap = FrequencyCap(channel="sms", max_messages=3, per_seconds=86400)
    at = utc("2026-06-10T12:00")
    sends = [at - timedelta(hours=h) for h in (1, 20, 10)]
    # When / Then the fourth waits until the oldest of them (20 h ago) ages out
    assert cap_release(sends, cap, at) == at + timedelta(hours=4)
    # And with only two, one more fits now
    assert cap_release(sends[:2], cap, at) is None
    # And a send stamped slightly after "now" by another sender still counts
    assert cap_release([at + timedelta(seconds=2)], caps_for("sms", "marketing")[0], at) == (
        at + timedelta(hours=24, seconds=2)
    )


def test_legal_floor_binds_a_generous_tenant_cap() -> None:
    # Given a tenant allowing ten SMS a day, and three sent in the last hours
    generous = FrequencyCap(channel="sms", max_messages=10, per_seconds=86400)
    at = utc("2026-06-10T12:00")
    sends = [at - timedelta(hours=h) for h in (6, 4, 2)]
    # When all caps for the send are checked
    release = caps_release(sends, caps_for("sms", "marketing", [generous]), at)
    # Then the legal three-a-day floor holds it until the first is 24 hours old
    assert release == at + timedelta(hours=18)


def test_caps_across_all_flows_take_the_latest_release() -> None:
    # Given one a day and two a week, with sends 30 hours and 6 days ago
    daily = FrequencyCap(channel="whatsapp", max_messages=1, per_seconds=86400)
    weekly = FrequencyCap(channel="whatsapp", max_messages=2, per_seconds=7 * 86400)
    at = utc("2026-06-10T12:00")
    sends = [at - timedelta(days=6), at - timedelta(hours=30)]
    # When / Then the daily cap is fine, the weekly one holds until the older send is a week old
    assert cap_release(sends, daily, at) is None
    assert caps_release(sends, [daily, weekly], at) == at + timedelta(days=1)
    assert caps_release(sends, [], at) is None


def test_trim_recent_sends_keeps_only_what_a_cap_can_need() -> None:
    # Given a long history of sends
    at = utc("2026-06-10T12:00")
    history = [at - timedelta(hours=h) for h in (1, 3, 5, 30, 200)]
    caps = caps_for("sms", "marketing")  # 1/24h and 3/24h
    # When it is trimmed
    trimmed = trim_recent_sends(history, caps, at)
    # Then only the last day's sends remain, at most three, oldest first
    assert trimmed == [at - timedelta(hours=5), at - timedelta(hours=3), at - timedelta(hours=1)]
    # And the decision is the same with the trimmed list
    assert caps_release(trimmed, caps, at) == caps_release(history, caps, at)
    assert trim_recent_sends(history, [], at) == []


# --- reputation breaker -----------------------------------------------------------------------


def test_bounce_rate_at_or_over_two_percent_pauses() -> None:
    # Given 1000 sent with 24 bounces
    verdict = reputation_status(sent=1000, bounces=24, complaints=0)
    # Then marketing pauses with the rate in the reason
    assert verdict.paused
    assert verdict.reason == "bounce rate 2.4% >= 2%"
    assert verdict.bounce_rate == Decimal("0.024")
    # And exactly 2% pauses too, 1.9% does not
    assert reputation_status(1000, 20, 0).paused
    assert not reputation_status(1000, 19, 0).paused


def test_complaint_rate_at_or_over_008_percent_pauses() -> None:
    # Given 10000 sent with 9 complaints
    verdict = reputation_status(sent=10000, bounces=0, complaints=9)
    # Then it pauses
    assert verdict.paused
    assert verdict.reason == "complaint rate 0.09% >= 0.08%"
    assert verdict.complaint_rate == Decimal("0.0009")
    # And 8 in 10000 (exactly 0.08%) pauses, 7 does not
    assert reputation_status(10000, 0, 8).paused
    assert not reputation_status(10000, 0, 7).paused


def test_both_reasons_are_given() -> None:
    verdict = reputation_status(1000, 30, 1)
    assert verdict.reason == "bounce rate 3% >= 2%; complaint rate 0.1% >= 0.08%"


def test_too_little_data_never_pauses() -> None:
    # Given a new tenant: 50 sends, 10 bounces (20%)
    verdict = reputation_status(sent=50, bounces=10, complaints=1)
    # Then nothing pauses yet, but the rates are reported
    assert not verdict.paused and verdict.reason is None and not verdict.enough_data
    assert verdict.bounce_rate == Decimal("0.2")
    # And with nothing sent the rates are zero
    empty = reputation_status(0, 0, 0)
    assert not empty.paused and empty.bounce_rate == Decimal(0)
    # And a lower min_sent judges earlier
    assert reputation_status(50, 10, 0, min_sent=50).paused


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        reputation_status(100, -1, 0)

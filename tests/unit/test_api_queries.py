"""Query parameters as the API reads them: a report's ``period``."""

from __future__ import annotations

import re
from datetime import date

import pytest
from linkstar.api.http import PERIOD, period_param
from linkstar.errors import BadRequest

TODAY = date(2026, 3, 14)


@pytest.mark.parametrize(
    "label", ["2026-03-02", "2026-W53", "2026-03", "2026-Q4", "1970-01", "2999-12", "2999-W52"]
)
def test_a_real_period_is_read_as_it_is(label: str) -> None:
    assert period_param({"period": label}, TODAY) == label
    # and the document's pattern says the same
    assert re.fullmatch(PERIOD.schema["pattern"], label)


def test_no_period_is_this_month() -> None:
    assert period_param({}, TODAY) == "2026-03"
    assert period_param({"period": ""}, TODAY) == "2026-03"


@pytest.mark.parametrize(
    "label",
    [
        # the calendar's ends: the period before year 1, or the days after 9999-12-31, don't
        # exist (these answered 500 on GET /costs, /unit-economics, /funnel and the KPI routes)
        "0001-01",
        "0001-W01",
        "0001-01-01",
        "9999-W52",
        "9999-12-31",
        "1969-12",
        "3000-01",
        # not periods
        "2026-13",
        "2027-W53",
        "2026-02-30",
        "2026-Q5",
        "March",
        "٢٠٢٦-03",  # digits, but not ASCII ones
        "2026-٠٣",
    ],
)
def test_anything_else_is_a_bad_request(label: str) -> None:
    with pytest.raises(BadRequest) as refused:
        period_param({"period": label}, TODAY)
    assert refused.value.code == "invalid_query"

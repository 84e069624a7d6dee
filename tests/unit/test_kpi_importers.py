"""CSV reports → metric facts: each preset on its sample (expected facts worked out by hand from
the files in tests/fixtures/kpi_reports, see the README there), the value and date variants,
refused rows with their lines and columns, and whole-file errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from linkstar.errors import PayloadTooLarge
from linkstar.kpis import importers
from linkstar.kpis.facts import Fact, fact_key
from linkstar.kpis.importers import (
    PRESET_METRICS,
    ImportResult,
    ReportFormatError,
    import_csv,
    parse_number,
    parse_report_date,
)
from linkstar.text import render

from tests.support import REPO

SAMPLES = REPO / "tests/fixtures/kpi_reports"
TODAY = date(2026, 11, 1)
GENERIC_MAPPING = {
    "date": "Day",
    "metrics": {
        "Sessions": "sessions",
        "Add to carts": "add_to_carts",
        "COGS": "cogs",
        "Stock on hand": "inventory_on_hand",
        "First response (h)": "cs_first_response_hours",
    },
    "dimensions": {"store_id": "Store", "sku": "SKU"},
}


def _sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def _run(text: str, preset: str, mapping: Any = None, **defaults: Any) -> ImportResult:
    return import_csv(text, preset, mapping, defaults or None, today=TODAY)


Table = dict[tuple[str, str | None], dict[str, Decimal]]


def _table(facts: list[Fact], dimension: str) -> Table:
    """Facts as {(date, the row's dimension): {metric: value}}; fails on a repeated fact."""
    table: Table = {}
    for fact in facts:
        row = table.setdefault((fact.date.isoformat(), getattr(fact, dimension)), {})
        assert fact.metric not in row
        row[fact.metric] = fact.value
    return table


def _expected(rows: dict[tuple[str, str | None], dict[str, str]]) -> Table:
    return {key: {m: Decimal(v) for m, v in values.items()} for key, values in rows.items()}


def _ad(*values: str) -> dict[str, str]:
    names = ("ad_spend", "impressions", "clicks", "ad_orders", "ad_sales", "ad_units")
    return dict(zip(names, values, strict=True))


# ------------------------------------------------------------------ the samples


def test_amazon_sp_campaign_report_gives_the_facts_worked_out_by_hand() -> None:
    # Given the console download, for a US store reporting in USD
    text = _sample("amazon_sp_campaigns.csv")

    # When
    result = _run(text, "amazon_sp_campaigns", currency="USD", market="US", store_id="s-1")

    # Then: spend, impressions, clicks, 7-day orders, 7-day sales, 7-day units per row
    auto, exact, mats = "SP - Towels - Auto", "SP - Towels - Exact", "SP - Bath Mats - Broad"
    assert _table(result.facts, "campaign") == _expected(
        {
            ("2026-10-01", auto): _ad("16.12", "1204", "31", "3", "74.28", "4"),
            ("2026-10-01", exact): _ad("41.76", "2310", "58", "6", "1234.50", "7"),
            ("2026-10-01", mats): _ad("9.60", "870", "12", "0", "0", "0"),
            ("2026-10-02", auto): _ad("15.37", "1388", "29", "2", "49.62", "2"),
            ("2026-10-02", exact): _ad("34.31", "2045", "47", "5", "1033.75", "5"),
            # Attributed sales not in yet ("--"): only what is known
            ("2026-10-03", auto): {"ad_spend": "13.25", "impressions": "1122", "clicks": "25"},
            ("2026-10-03", exact): _ad("32.12", "1987", "44", "4", "828.00", "4"),
            ("2026-10-04", auto): _ad("17.49", "1301", "33", "3", "74.28", "3"),
            ("2026-10-04", exact): _ad("44.53", "2402", "61", "7", "1261.40", "8"),
            ("2026-10-04", mats): _ad("11.20", "915", "14", "1", "33.00", "1"),
        }
    )
    assert {(f.platform, f.market, f.store_id) for f in result.facts} == {("amazon", "US", "s-1")}
    assert result.rows_read == 12
    assert render(result.rejected) == [
        {"line": 10, "column": "Date", "reason": "'Oct 32, 2026' is not a calendar date"},
        {
            "line": 10,
            "column": "Spend",
            "reason": "'$1,23.40' is not a number: a thousands separator must group three digits",
        },
    ]
    assert result.rows_rejected == 1
    assert render(result.skipped) == [
        {"line": 7, "column": "", "reason": "no metric values in this row"}
    ]


def _tiktok(*values: str) -> dict[str, str]:
    names = (
        "ad_spend", "impressions", "clicks", "ad_conversions", "ad_orders", "ad_sales",
        "video_views", "video_completions", "video_completion_rate",
    )  # fmt: skip
    return dict(zip(names, values, strict=False))


def test_tiktok_ads_report_gives_the_facts_worked_out_by_hand() -> None:
    # Given the Ads Manager export (BOM, CRLF, a totals row), for a tenant reporting in USD
    text = _sample("tiktok_ads.csv")

    # When
    result = _run(text, "tiktok_ads", currency="USD")

    # Then: completion rate = views at 100% / views, to 6 places
    towels, reviews = "Shop Ads - Towels", "Spark - Creator Reviews"
    t = _tiktok
    assert _table(result.facts, "campaign") == _expected(
        {
            ("2026-10-01", towels): t(
                "120.50", "45210", "612", "38", "35", "1480.20", "30120", "4518", "0.15"
            ),
            ("2026-10-01", reviews): t(
                "80.00", "30550", "401", "21", "19", "655.70", "22400", "2912", "0.13"
            ),
            ("2026-10-02", towels): t(
                "118.75", "44010", "590", "36", "33", "1392.60", "29300", "4102", "0.14"
            ),
            ("2026-10-02", reviews): t(
                "79.40", "29870", "388", "20", "18", "630.00", "21950", "3073", "0.14"
            ),
            ("2026-10-03", towels): t(
                "125.10", "46800", "640", "41", "39", "1611.45", "31800", "4770", "0.15"
            ),
            # 3217 / 22980 = 0.13999129… → 0.139991
            ("2026-10-03", reviews): t(
                "81.20", "31020", "410", "22", "20", "690.00", "22980", "3217", "0.139991"
            ),
            # A day of zeros is a day of zero facts; no rate without views
            ("2026-10-04", towels): t("0", "0", "0", "0", "0", "0", "0", "0"),
            ("2026-10-05", towels): t(
                "130.00", "48100", "655", "42", "40", "1655.00", "32000", "4800", "0.15"
            ),
        }
    )
    assert {f.platform for f in result.facts} == {"tiktok_shop"}
    assert result.rows_read == 12
    assert render(result.rejected) == [
        {"line": 8, "column": "By Day", "reason": "'2026-13-01' is not a calendar date"},
        {"line": 8, "column": "Cost", "reason": "'abc' is not a number"},
        {
            "line": 12,
            "column": "Currency",
            "reason": "this row is in EUR but the reporting currency is USD: money is imported "
            "only in the reporting currency (no conversion)",
        },
    ]
    assert render(result.skipped) == [
        {"line": 10, "column": "", "reason": "no metric values in this row"},
        {"line": 13, "column": "", "reason": "a totals row ('Total of 11 results'), not a day"},
    ]


def _health(*values: str) -> dict[str, str]:
    names = (
        "odr", "late_shipment_rate", "pre_fulfillment_cancel_rate", "valid_tracking_rate",
        "on_time_delivery_rate",
    )  # fmt: skip
    return dict(zip(names, values, strict=True))


def test_amazon_account_health_gives_rates_as_fractions() -> None:
    # Given
    text = _sample("amazon_account_health.csv")

    # When
    result = _run(text, "amazon_account_health", store_id="s-1")

    # Then: "0.42%" is 0.0042; a bare number is already a fraction (line 6)
    h = _health
    assert _table(result.facts, "market") == _expected(
        {
            ("2026-10-01", "US"): h("0.0042", "0.011", "0.0035", "0.992", "0.978"),
            ("2026-10-02", "US"): h("0.0041", "0.0105", "0.003", "0.9925", "0.979"),
            ("2026-10-03", "US"): h("0.0045", "0.012", "0", "0.991", "0.975"),
            ("2026-10-04", "US"): h("0.0052", "0.014", "0.0028", "0.99", "0.974"),
            ("2026-10-05", "US"): h("0.0061", "0.015", "0.0025", "0.989", "0.972"),
            ("2026-10-06", "US"): {"odr": "0.0058", "pre_fulfillment_cancel_rate": "0.002"},
            ("2026-10-08", "US"): h("0.0049", "0.013", "0.0022", "0.993", "0.981"),
            ("2026-10-01", "GB"): h("0.0012", "0.008", "0.001", "0.985", "0.962"),
            ("2026-10-08", "GB"): h("0.0015", "0.0095", "0.0012", "0.987", "0.964"),
            ("2026-10-09", "US"): h("0.0047", "0.0125", "0.0021", "0.9935", "0.98"),
        }
    )
    assert {(f.platform, f.store_id) for f in result.facts} == {("amazon", "s-1")}
    assert render(result.rejected) == [
        {
            "line": 12,
            "column": "Marketplace",
            "reason": "'Mars' is not a marketplace: expected a country code (US), an Amazon "
            "domain (Amazon.com) or a marketplace id",
        },
        {
            "line": 12,
            "column": "Order Defect Rate",
            "reason": "'1.2.3%' is not a number: a thousands separator must group three digits",
        },
    ]
    assert render(result.skipped) == [
        {"line": 8, "column": "", "reason": "no metric values in this row"}
    ]


def _ops(*values: str) -> dict[str, str]:
    names = ("sessions", "add_to_carts", "cogs", "inventory_on_hand", "cs_first_response_hours")
    return dict(zip(names, values, strict=True))


def test_generic_csv_with_a_mapping_and_decimal_commas() -> None:
    # Given a ;-delimited export with decimal commas and euro amounts
    text = _sample("generic_daily_ops.csv")

    # When
    result = _run(text, "generic", GENERIC_MAPPING, currency="EUR", platform="shopify", market="DE")

    # Then: "1.204" sessions is 1204, "1.234,50 €" is 1234.50, "3,5" hours is 3.5
    twl, mat = "TWL-BMB-GRY", "MAT-CTN-BLU"
    assert _table(result.facts, "sku") == _expected(
        {
            ("2026-10-01", twl): _ops("1204", "96", "1234.50", "340", "3.5"),
            ("2026-10-01", mat): _ops("612", "41", "418.20", "122", "3.5"),
            ("2026-10-02", twl): _ops("1180", "90", "1150.00", "318", "4.25"),
            ("2026-10-02", mat): _ops("590", "38", "395.10", "115", "4.25"),
            ("2026-10-03", twl): _ops("1310", "104", "1302.75", "297", "2"),
            ("2026-10-04", twl): _ops("1256", "99", "1260.00", "279", "3"),
            ("2026-10-04", mat): _ops("640", "45", "430.55", "108", "3"),
            ("2026-10-05", mat): _ops("655", "47", "441.00", "101", "2.75"),
            ("2026-10-06", twl): _ops("1198", "92", "1190.40", "261", "3.25"),
            ("2026-10-06", mat): _ops("601", "40", "401.80", "96", "3.25"),
        }
    )
    assert {(f.store_id, f.platform, f.market) for f in result.facts} == {
        ("de-shop-1", "shopify", "DE")
    }
    assert render(result.rejected) == [
        {"line": 10, "column": "Sessions", "reason": "'many' is not a number"},
        {
            "line": 10,
            "column": "COGS",
            "reason": "'12 $' is not in the reporting currency EUR: money is imported only in "
            "the reporting currency (no conversion)",
        },
    ]
    assert render(result.skipped) == [
        {"line": 7, "column": "", "reason": "no metric values in this row"}
    ]


def test_importing_a_report_twice_gives_the_same_keys() -> None:
    # Re-importing replaces (same keys), never doubles; within one file every key is distinct.
    text = _sample("tiktok_ads.csv")

    first = [fact_key(f) for f in _run(text, "tiktok_ads", currency="USD").facts]
    second = [fact_key(f) for f in _run(text, "tiktok_ads", currency="USD").facts]

    assert first == second
    assert len(set(first)) == len(first) == 71


def test_preset_metrics_lists_what_each_preset_produces() -> None:
    assert PRESET_METRICS == {
        "amazon_sp_campaigns": (
            "ad_spend", "impressions", "clicks", "ad_sales", "ad_orders", "ad_units",
        ),
        "tiktok_ads": (
            "ad_spend", "impressions", "clicks", "ad_conversions", "ad_orders", "ad_units",
            "ad_sales", "video_views", "video_completions", "video_completion_rate",
        ),
        "amazon_account_health": (
            "odr", "late_shipment_rate", "pre_fulfillment_cancel_rate", "valid_tracking_rate",
            "on_time_delivery_rate",
        ),
    }  # fmt: skip


# ------------------------------------------------------------------ header variants


def test_amazon_reporting_api_v3_columns_prefer_the_7_day_window() -> None:
    # Given spCampaigns columns, with both 7- and 14-day attribution
    text = (
        "date,campaignName,campaignId,impressions,clicks,cost,purchases7d,sales7d,"
        "unitsSoldClicks7d,purchases14d,sales14d,campaignBudgetCurrencyCode\n"
        "2026-10-01,SP - Towels - Auto,123456789,1204,31,16.12,3,74.28,4,5,99.10,USD\n"
    )

    # When
    result = _run(text, "amazon_sp_campaigns", currency="USD")

    # Then
    assert _table(result.facts, "campaign") == _expected(
        {("2026-10-01", "SP - Towels - Auto"): _ad("16.12", "1204", "31", "3", "74.28", "4")}
    )


def test_a_vendor_report_with_only_14_day_columns_uses_them() -> None:
    text = (
        "Date,Campaign Name,Impressions,Clicks,Spend,14 Day Total Sales,14 Day Total Orders (#)\n"
        "2026-10-01,Vendor - Brand,500,10,$5.00,$40.00,2\n"
    )

    result = _run(text, "amazon_sp_campaigns")

    values = {f.metric: f.value for f in result.facts}
    assert values["ad_sales"] == Decimal("40.00")
    assert values["ad_orders"] == Decimal("2")


def test_a_summary_download_is_imported_only_when_it_covers_one_day() -> None:
    # Given a console summary (Start Date / End Date instead of Date)
    text = (
        "Start Date,End Date,Campaign Name,Impressions,Clicks,Spend\n"
        '"Oct 01, 2026","Oct 01, 2026",A,100,5,$2.00\n'
        '"Oct 01, 2026","Oct 07, 2026",B,700,35,$14.00\n'
    )

    # When
    result = _run(text, "amazon_sp_campaigns")

    # Then
    assert {(f.date, f.campaign) for f in result.facts} == {(date(2026, 10, 1), "A")}
    assert render(result.rejected) == [
        {
            "line": 3,
            "column": "Start Date",
            "reason": "covers 2026-10-01 to 2026-10-07; a fact is one day: download the report "
            "by day (time unit Daily)",
        }
    ]


def test_headers_match_whatever_their_case_spacing_or_width() -> None:
    # Chinese console headers with full-width brackets, and untidy spacing
    text = (
        "日期,广告活动名称,货币,展示量,点击量,花费,7天总销售额,\uff17天总订单数\uff08#\uff09\n"
        "2026-10-01,春季推广,USD,100,5,$2.00,$30.00,1\n"
    )

    result = _run(text, "amazon_sp_campaigns", currency="usd")

    assert {f.metric: f.value for f in result.facts} == {
        "impressions": Decimal(100),
        "clicks": Decimal(5),
        "ad_spend": Decimal("2.00"),
        "ad_sales": Decimal("30.00"),
        "ad_orders": Decimal(1),
    }
    assert result.facts[0].campaign == "春季推广"


def test_tiktok_marketing_api_names_and_an_explicit_completion_rate() -> None:
    text = (
        "stat_time_day,campaign_name,spend,impressions,clicks,video_play_actions,"
        "video_views_p100\n"
        "2026-10-01 00:00:00,Towels,12.5,1000,10,800,200\n"
        "\n"
    )
    result = _run(text, "tiktok_ads")
    assert {f.metric: f.value for f in result.facts}["video_completion_rate"] == Decimal("0.25")

    # A report with only the rate: the rate is taken as it is
    text = "Date,Video views,100% video view rate\n2026-10-01,800,12.5%\n"
    result = _run(text, "tiktok_ads")
    assert {f.metric: f.value for f in result.facts} == {
        "video_views": Decimal(800),
        "video_completion_rate": Decimal("0.125"),
    }
    assert result.facts[0].campaign is None  # an account-level report has no campaign


def test_tiktok_clicks_all_is_not_read_as_clicks() -> None:
    text = "By Day,Clicks (all),Cost\n2026-10-01,50,3.00\n"

    result = _run(text, "tiktok_ads")

    assert [f.metric for f in result.facts] == ["ad_spend"]


def test_account_health_takes_the_report_date_from_defaults() -> None:
    # Given a one-day snapshot without a date column, and SP-API names
    text = "orderDefectRate,lateShipmentRate,prefulfillmentCancelRate,validTrackingRate\n"
    text += "0.009,0.032,0.005,0.9529\n"

    # When
    result = _run(text, "amazon_account_health", date="11/01/2026", market="US")

    # Then
    assert {(f.date, f.metric, f.value, f.market) for f in result.facts} == {
        (date(2026, 11, 1), "odr", Decimal("0.009"), "US"),
        (date(2026, 11, 1), "late_shipment_rate", Decimal("0.032"), "US"),
        (date(2026, 11, 1), "pre_fulfillment_cancel_rate", Decimal("0.005"), "US"),
        (date(2026, 11, 1), "valid_tracking_rate", Decimal("0.9529"), "US"),
    }


def test_a_rate_over_100_percent_is_refused_on_its_column() -> None:
    text = "Date,Late Dispatch Rate,Order Defect Rate\n2026-10-01,150%,0.5%\n"

    result = _run(text, "amazon_account_health")

    assert result.facts == []
    assert render(result.rejected) == [
        {
            "line": 2,
            "column": "Late Dispatch Rate",
            "reason": "late_shipment_rate is a rate stored as a fraction between 0 and 1 "
            "(0.5% is 0.005), got 1.5",
        }
    ]


# ------------------------------------------------------------------ files and delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    text = delimiter.join(["By Day", "Campaign name", "Cost"]) + "\r\n"
    text += delimiter.join(["2026-10-01", "Towels, big", "12.50"]) + "\r\n"
    if delimiter == ",":
        text = text.replace("Towels, big", '"Towels, big"')

    result = _run(text, "tiktok_ads")

    assert [(f.campaign, f.value) for f in result.facts] == [("Towels, big", Decimal("12.50"))]


def test_a_title_line_above_the_header_is_skipped_and_lines_still_count() -> None:
    text = (
        "\ufeffSponsored Products Campaign Report,,,\n"
        "\n"
        "Date,Campaign Name,Clicks,Spend\n"
        "2026-10-01,A,3,$1.00\n"
        "2026-10-01,B,three,$1.00\n"
    )

    result = _run(text, "amazon_sp_campaigns")

    assert len(result.facts) == 2
    assert render(result.rejected) == [
        {"line": 5, "column": "Clicks", "reason": "'three' is not a number"}
    ]


@pytest.mark.parametrize(
    ("text", "preset", "kept", "rejected"),
    [
        pytest.param(
            'By Day,Campaign name,Cost\n2026-10-01,"two\nlines",1\n2026-10-02,C,x\n',
            "tiktok_ads",
            [],
            [
                {
                    "line": 2,  # where the row starts
                    "column": "Campaign name",
                    "reason": "must not contain control characters (tabs, line breaks …)",
                },
                {"line": 4, "column": "Cost", "reason": "'x' is not a number"},
            ],
            id="a_quoted_field_spanning_lines_keeps_line_numbers_physical",
        ),
        pytest.param(
            "By Day,Campaign name,Cost\n2026-10-01,Towels, big,12.50\n2026-10-01,A,1,,\n",
            "tiktok_ads",
            [("A", Decimal(1))],  # empty trailing fields are harmless
            [
                {
                    "line": 2,
                    "column": "",
                    "reason": "4 fields but the header has 3: the columns are shifted (an "
                    "unquoted delimiter in a name?)",
                }
            ],
            id="a_shifted_row_is_refused",
        ),
        pytest.param(
            "Date,Campaign Name,Clicks\n2026-10-01,A,3\n2026-10-01,B,4\n2026-10-01, A ,5\n",
            "amazon_sp_campaigns",
            [("A", Decimal(3)), ("B", Decimal(4))],
            [
                {
                    "line": 4,
                    "column": "Clicks",
                    "reason": "the same date, metric and dimensions as line 2 (2026-10-01, "
                    "clicks, campaign 'A')",
                }
            ],
            id="the_same_fact_twice_in_a_file_is_refused_on_the_second_line",
        ),
        pytest.param(
            # Half a row (spend without its clicks) would skew every ratio.
            "Date,Campaign Name,Clicks,Spend,Impressions\n2026-10-01,,x,$1.00,-5\n",
            "amazon_sp_campaigns",
            [],
            [
                {"line": 2, "column": "Campaign Name", "reason": "empty"},
                {"line": 2, "column": "Clicks", "reason": "'x' is not a number"},
            ],
            id="a_row_is_refused_whole_with_every_problem",
        ),
    ],
)
def test_refused_rows_name_their_line_column_and_reason(
    text: str, preset: str, kept: list[tuple[str, Decimal]], rejected: list[dict[str, Any]]
) -> None:
    result = _run(text, preset)

    assert [(f.campaign, f.value) for f in result.facts] == kept
    assert render(result.rejected) == rejected


def test_fact_validation_problems_name_the_column() -> None:
    text = "Date,Campaign Name,Clicks,Impressions\n2026-12-25,A,3,-5\n2026-10-01,B,3,-5\n"

    result = _run(text, "amazon_sp_campaigns")

    assert result.rejected[0]["column"] == "Date"
    assert "in the future" in str(result.rejected[0]["reason"])
    assert {
        "line": 3,
        "column": "Impressions",
        "reason": "impressions can't be negative, got -5",
    } in render(result.rejected)


def test_a_row_the_csv_parser_cannot_read_ends_the_reading() -> None:
    # A quote never closed swallows the rest of the file into one field, past the size limit.
    text = 'By Day,Cost\n2026-10-01,1\n2026-10-02,"1\n' + "2026-10-03,1\n" * 20_000

    result = _run(text, "tiktok_ads")

    assert [f.date.day for f in result.facts] == [1]
    assert [(p["line"], str(p["reason"])[:36]) for p in result.rejected] == [
        (3, "can't be read, file not read further")
    ]


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importers, "MAX_IMPORT_ROWS", 2)
    text = "By Day,Cost\n2026-10-01,1\n2026-10-02,1\n2026-10-03,1\n"

    with pytest.raises(PayloadTooLarge) as caught:
        _run(text, "tiktok_ads")

    assert caught.value.code == "report_too_large"


# ------------------------------------------------------------------ values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1204", ("1204", False, "")),
        ("1,204", ("1204", False, "")),
        ("$1,234.50", ("1234.50", False, "$")),
        ("US$ 1,234.50", ("1234.50", False, "US$")),
        ("¥1,234", ("1234", False, "¥")),
        ("1.234,50 €", ("1234.50", False, "€")),
        ("EUR 12", ("12", False, "EUR")),
        ("12 usd", ("12", False, "USD")),
        ("-$5.00", ("-5.00", False, "$")),
        ("$-5.00", ("-5.00", False, "$")),
        ("(12.50)", ("-12.50", False, "")),
        ("0.42%", ("0.42", True, "")),
        ("1 234,5", ("1234.5", False, "")),
        ("1,234,567.89", ("1234567.89", False, "")),
        (".5", ("0.5", False, "")),
        ("1,5", ("1.5", False, "")),  # nobody groups by one digit: a decimal comma
    ],
)
def test_numbers_are_read_from_report_text(text: str, expected: tuple[str, bool, str]) -> None:
    value, percent, token = expected

    assert parse_number(text) == (Decimal(value), percent, token)


@pytest.mark.parametrize("text", ["", "  ", "-", "--", "—", "N/A", "null"])
def test_no_value_markers(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize("text", ["abc", "12.", "1,23,4", "12 34", "$12 USD", "1-2", "1.2.3%"])
def test_text_that_is_not_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="is not a number"):
        parse_number(text)


def test_three_digits_after_a_lone_separator_follow_the_file() -> None:
    # , and tab files: thousands separator; ; files (decimal-comma locales): decimal mark
    assert parse_number("1,234") == (Decimal(1234), False, "")
    assert parse_number("1.234") == (Decimal("1.234"), False, "")
    assert parse_number("1,234", decimal_comma=True) == (Decimal("1.234"), False, "")
    assert parse_number("1.234", decimal_comma=True) == (Decimal(1234), False, "")


def test_the_decimal_separator_can_be_given() -> None:
    # Given a ;-delimited file that nonetheless writes decimal points
    text = "By Day;Impressions;Cost\n2026-10-01;1,234;1.234\n"

    # When read as a decimal-comma file, 1,234 impressions is 1.234: not a count
    result = _run(text, "tiktok_ads")
    assert render(result.rejected) == [
        {
            "line": 2,
            "column": "Impressions",
            "reason": "impressions is a count: a whole number, got 1.234",
        }
    ]

    # When told the decimal separator
    result = _run(text, "tiktok_ads", decimal_separator=".")
    assert {f.metric: f.value for f in result.facts} == {
        "impressions": Decimal(1234),
        "ad_spend": Decimal("1.234"),
    }


@pytest.mark.parametrize(
    ("cell", "currency", "accepted"),
    [
        ("$12.00", "USD", True),
        ("$12.00", "CAD", True),  # "$" is several currencies: only checked against them
        ("US$12.00", "CAD", False),
        ("¥1,200", "JPY", True),
        ("¥1,200", "CNY", True),
        ("¥1,200", "USD", False),
        ("€12", "USD", False),
        ("12.00 GBP", "GBP", True),
        ("12.00 GBP", "EUR", False),
        ("12.00", "JPY", True),
    ],
)
def test_money_in_another_currency_is_refused(cell: str, currency: str, accepted: bool) -> None:
    text = f'By Day,Cost\n2026-10-01,"{cell}"\n'

    result = _run(text, "tiktok_ads", currency=currency)

    assert bool(result.facts) is accepted
    if not accepted:
        assert result.rejected[0]["column"] == "Cost"
        assert f"reporting currency {currency}" in str(result.rejected[0]["reason"])


def test_without_a_reporting_currency_the_first_row_sets_the_files() -> None:
    text = (
        "By Day,Currency,Cost,Gross revenue\n"
        "2026-10-01,USD,1.00,2.00\n"
        "2026-10-02,EUR,1.00,2.00\n"
        "2026-10-03,,€1.00,2.00\n"
        "2026-10-04,,$1.00,2.00\n"
    )

    result = _run(text, "tiktok_ads")

    assert sorted({f.date.day for f in result.facts}) == [1, 4]
    assert render(result.rejected) == [
        {
            "line": 3,
            "column": "Currency",
            "reason": "this row is in EUR but the file's earlier rows are in USD",
        },
        {"line": 4, "column": "Cost", "reason": "'€1.00' is not in USD, the currency of the file"},
    ]


def test_a_currency_column_that_is_not_a_code_is_refused() -> None:
    result = _run("By Day,Currency,Cost\n2026-10-01,Dollars,1\n", "tiktok_ads")

    assert render(result.rejected) == [
        {"line": 2, "column": "Currency", "reason": "'Dollars' is not an ISO 4217 code"}
    ]


def test_percent_and_currency_only_where_the_unit_allows() -> None:
    text = "By Day,Impressions,Clicks\n2026-10-01,12%,$3\n"

    result = _run(text, "tiktok_ads")

    assert render(result.rejected) == [
        {
            "line": 2,
            "column": "Impressions",
            "reason": "'12%' is a percentage, but impressions is a count",
        },
        {"line": 2, "column": "Clicks", "reason": "'$3' has a currency, but clicks is a count"},
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-01",
        "2026-10-01 00:00:00",
        "2026-10-01T00:00:00Z",
        "2026/10/01",
        "2026/10/1",
        "10/01/2026",
        "10/1/2026",
        "Oct 01, 2026",
        "Oct 1 2026",
        "October 1, 2026",
        "oct 01, 2026",
        "20261001",
    ],
)
def test_report_dates(text: str) -> None:
    assert parse_report_date(text) == date(2026, 10, 1)


@pytest.mark.parametrize("text", ["01.10.2026", "2026-10", "Okt 01, 2026", "13/01/2026", "x"])
def test_dates_that_are_not_read(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_report_date(text)


# ------------------------------------------------------------------ whole-file errors


def test_a_header_without_the_presets_columns_says_what_is_missing() -> None:
    with pytest.raises(ReportFormatError) as caught:
        _run("Name,Total\nA,1\n", "amazon_sp_campaigns")

    assert caught.value.code == "invalid_report"
    assert render(caught.value.problems) == [
        {"line": 1, "column": "", "reason": "no date column: expected one of date, 日期"},
        {
            "line": 1,
            "column": "",
            "reason": "no metric column: expected some of cost, impressions, clicks, sales7d, "
            "purchases7d, unitsSoldClicks7d",
        },
        {
            "line": 1,
            "column": "",
            "reason": "no campaign column: expected one of campaignName, Campaign Name, "
            "广告活动名称",
        },
    ]


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(ReportFormatError) as caught:
        _run("\ufeff\n\n", "tiktok_ads")

    assert render(caught.value.problems) == [
        {"line": 1, "column": "", "reason": "the file is empty: expected a header line"}
    ]


@pytest.mark.parametrize(
    ("preset", "mapping", "defaults", "column"),
    [
        ("shopify_orders", None, {}, ""),
        ("tiktok_ads", {"metrics": {"Cost": "ad_spend"}}, {}, ""),
        ("generic", None, {}, "mapping"),
        ("generic", {"metrics": {}}, {}, "mapping.metrics"),
        ("generic", {"metrics": {"A": "Bad Name"}}, {}, "mapping.metrics.A"),
        ("generic", {"metrics": {"A": "x", "B": "x"}}, {}, "mapping.metrics"),
        (
            "generic",
            {"metrics": {"A": "x"}, "dimensions": {"region": "R"}},
            {},
            "mapping.dimensions.region",
        ),
        ("generic", {"metrics": {"A": "x"}, "colour": 1}, {}, "mapping.colour"),
        ("tiktok_ads", None, {"currency": "dollars"}, "defaults.currency"),
        ("tiktok_ads", None, {"market": "USA"}, "defaults.market"),
        ("tiktok_ads", None, {"platform": "ebay"}, "defaults.platform"),
        ("tiktok_ads", None, {"date": "soon"}, "defaults.date"),
        ("tiktok_ads", None, {"decimal_separator": "'"}, "defaults.decimal_separator"),
        ("tiktok_ads", None, {"tenant": "t"}, "defaults.tenant"),
        ("tiktok_ads", None, {"store_id": 7}, "defaults.store_id"),
    ],
)
def test_bad_presets_mappings_and_defaults_are_refused_before_reading(
    preset: str, mapping: Any, defaults: dict[str, Any], column: str
) -> None:
    with pytest.raises(ReportFormatError) as caught:
        import_csv("By Day,Cost,A,B\n2026-10-01,1,1,1\n", preset, mapping, defaults, today=TODAY)

    assert caught.value.problems[0]["column"] == column


def test_generic_needs_every_mapped_column() -> None:
    mapping = {"date": "Day", "metrics": {"Sessions": "sessions", "COGS": "cogs"}}

    with pytest.raises(ReportFormatError) as caught:
        _run("Day,Sessions\n2026-10-01,5\n", "generic", mapping)

    assert render(caught.value.problems) == [
        {"line": 1, "column": "COGS", "reason": "column for cogs is missing"}
    ]


def test_generic_with_the_date_in_defaults_and_a_tenants_own_metric() -> None:
    mapping = {"metrics": {"Score": "nps_score", "Refunds %": "refund_share"}}
    text = "Score,Refunds %\n-12.5,4%\n"

    result = _run(text, "generic", mapping, date="2026-10-31", owner="team-cs")

    assert {(f.metric, f.value, f.owner, f.date) for f in result.facts} == {
        ("nps_score", Decimal("-12.5"), "team-cs", date(2026, 10, 31)),
        ("refund_share", Decimal("0.04"), "team-cs", date(2026, 10, 31)),
    }

"""Media limits and wiring without AWS: what may be uploaded and at what size (the same tables the
template and MMS checks use), how a stored file is judged when a template naming it is saved,
the key an upload gets, and the media bucket's CORS rule and the API function's grants in
template.yaml."""

from __future__ import annotations

from typing import Any

import pytest
from linkstar.outreach import templates
from linkstar.outreach.providers import media
from linkstar.outreach.templates import Attachment, MediaFile, MmsMedia
from samtranslator.yaml_helper import yaml_parse

from tests.support import REPO


@pytest.mark.parametrize(
    ("content_type", "limit"),
    [
        ("application/pdf", templates.MAX_ATTACHMENT_BYTES),  # attachment and MMS: the larger
        ("image/PNG", templates.MAX_ATTACHMENT_BYTES),
        ("text/csv; charset=utf-8", templates.MAX_ATTACHMENT_BYTES),  # attachment only
        ("video/mp4", 600_000),  # MMS only
        ("application/x-msdownload", None),  # no channel
        ("", None),
    ],
)
def test_the_upload_limit_is_the_largest_any_channel_sends_the_type_at(
    content_type: str, limit: int | None
) -> None:
    assert templates.upload_limit(content_type) == limit


def test_the_upload_limit_follows_the_channels_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given smaller limits than the defaults (the tables are read, not copied)
    monkeypatch.setattr(templates, "MAX_ATTACHMENT_BYTES", 10)
    monkeypatch.setitem(templates.MMS_MEDIA_TYPES, "image/png", 20)
    # Then the limit follows them
    assert templates.upload_limit("image/png") == 20
    assert templates.upload_limit("text/plain") == 10


def test_a_stored_file_is_judged_by_the_type_the_template_declares_and_its_channels_limit() -> None:
    picture = MmsMedia(key="promo/sale.png", content_type="image/png")
    assert templates.stored_file_problem(picture, "image/png", 2_000_000) is None
    too_big = templates.stored_file_problem(picture, "image/png", 2_000_001)
    assert too_big is not None and too_big.code == "template_media_too_large"
    retyped = templates.stored_file_problem(picture, "image/jpeg", 10)
    assert retyped is not None and retyped.code == "template_media_type_mismatch"
    assert str(retyped.reason) == (
        "promo/sale.png is stored as image/jpeg, not image/png as the template says"
    )
    terms = Attachment(key="terms.pdf", content_type="application/pdf")
    # An attachment may be as large as an email carries; a stored type's parameters don't count
    assert templates.stored_file_problem(terms, "Application/PDF; x=y", 5_000_000) is None
    assert templates.attachments_problem([("a.pdf", 6 * 2**20), ("a.pdf", 6 * 2**20)]) is not None
    assert templates.attachments_problem([("a.pdf", 6 * 2**20)]) is None


@pytest.mark.parametrize(
    ("filename", "content_type", "name"),
    [
        ("Terms 2026.pdf", "application/pdf", "Terms-2026.pdf"),
        ("C:\\Users\\ada\\invoice.PDF", "application/pdf", "invoice.pdf"),
        ("../../t000/x.pdf", "application/pdf", "x.pdf"),
        ("产品目录.pdf", "application/pdf", "file.pdf"),
        ("café menu.jpg", "image/jpeg", "cafe-menu.jpg"),
        ("photo.jpeg", "image/png", "photo.jpeg.png"),  # an attachment must end as its type
        ("clip", "video/mp4", "clip"),  # MMS only: no ending required
        (".profile", "text/plain", "file.profile.txt"),
    ],
)
def test_an_uploads_key_ends_in_a_safe_name_made_from_the_users(
    filename: str, content_type: str, name: str
) -> None:
    made = media._file_name(filename, content_type)
    assert made == name
    # And a key made of it is one a template may name
    MediaFile.model_validate({"key": f"abc/{made}", "content_type": content_type})


def _template() -> dict[str, Any]:
    return dict(yaml_parse((REPO / "template.yaml").read_text()))


def test_the_media_bucket_takes_browser_posts() -> None:
    bucket = _template()["Resources"]["MediaBucket"]["Properties"]
    (rule,) = bucket["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]


def test_the_api_function_may_do_what_the_media_routes_do() -> None:
    function = _template()["Resources"]["ApiFunction"]["Properties"]
    assert function["Environment"]["Variables"]["MEDIA_BUCKET_NAME"] == {"Ref": "MediaBucket"}
    statements = [s for policy in function["Policies"] for s in policy["Statement"]]
    granted: dict[str, Any] = {}
    for statement in statements:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            granted.setdefault(action, []).append(statement["Resource"])
    # Objects in tenant folders only (a tenant id is "t" and 11 characters)
    media_objects = {"Fn::Sub": "${MediaBucket.Arn}/t???????????/*"}
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        assert media_objects in granted[action], action
    assert granted["s3:ListBucket"] == [{"Fn::GetAtt": ["MediaBucket", "Arn"]}]

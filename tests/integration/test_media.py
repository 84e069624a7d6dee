"""The tenant's media folder through the API on moto: a signed upload form (its policy pins a
fresh key in the seller's own folder, the type and the size any channel sends), the file put
where the form says, listed, deleted, kept apart from other tenants; types and sizes no channel
sends refused; and a template saved only when the files it names are there, of its type and
within its channel's limit.

moto in-process takes no HTTP POST, so the browser's upload is played by ``put_object`` with the
form's own key and Content-Type, and what S3 would enforce is read from the form's policy (the
end-to-end test posts the real form to the local stack's moto server).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from tests.integration.conftest import Seller, Stack, body_of, call, new_seller

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def request_upload(
    stack: Stack,
    seller: Seller,
    filename: str,
    content_type: str,
    size: int,
    *,
    language: str | None = None,
) -> Any:
    return call(
        stack,
        "POST",
        "/media/uploads",
        seller.api_key,
        {"filename": filename, "content_type": content_type, "size": size},
        language=language,
    )


def post_form(stack: Stack, form: dict[str, Any], data: bytes) -> None:
    """What the browser's POST of the form leaves in S3 (moto in-process takes no HTTP)."""
    fields = form["fields"]
    policy = policy_of(form)
    (low, high) = next(c[1:] for c in policy["conditions"] if isinstance(c, list))
    assert low <= len(data) <= high, "S3 would refuse this file"
    boto3.client("s3").put_object(
        Bucket=stack.resource("MediaBucket"),
        Key=fields["key"],
        Body=data,
        ContentType=fields["Content-Type"],
    )


def upload(stack: Stack, seller: Seller, filename: str, content_type: str, data: bytes) -> str:
    answer = request_upload(stack, seller, filename, content_type, len(data))
    assert answer.status_code == 201, answer.body
    form = body_of(answer)
    post_form(stack, form, data)
    return str(form["key"])


def policy_of(form: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(form["fields"]["policy"])))


def listed(stack: Stack, seller: Seller, query: str = "") -> dict[str, Any]:
    answer = call(stack, "GET", f"/media{query}", seller.api_key)
    assert answer.status_code == 200, answer.body
    return dict(body_of(answer))


def save_template(stack: Stack, seller: Seller, template: dict[str, Any], **kw: Any) -> Any:
    return call(stack, "POST", "/templates", seller.api_key, {"locale": "en", **template}, **kw)


def email_attaching(*keys: str) -> dict[str, Any]:
    return {
        "template_id": "order.invoice",
        "channel": "email",
        "purpose": "transactional",
        "subject": "Your invoice",
        "body": "Attached.",
        "attachments": [{"key": key, "content_type": "application/pdf"} for key in keys],
    }


def mms_sending(key: str, content_type: str = "image/png") -> dict[str, Any]:
    return {
        "template_id": "promo.picture",
        "channel": "sms",
        "purpose": "marketing",
        "body": "20% off today",
        "media": [{"key": key, "content_type": content_type}],
    }


# ---------------------------------------------------------------- the upload form


def test_an_upload_form_pins_a_fresh_key_in_the_sellers_folder_its_type_and_size(
    stack: Stack,
) -> None:
    # Given a seller
    seller = new_seller(stack, "Uploading")
    # When they ask to upload a PDF
    before = datetime.now(UTC)
    answer = request_upload(stack, seller, "Terms 2026.pdf", "application/pdf", len(PDF))
    # Then they get a form for a new key in their own folder, named after their file
    assert answer.status_code == 201, answer.body
    form = body_of(answer)
    key = form["key"]
    assert key.endswith("/Terms-2026.pdf") and len(key.split("/")) == 2
    bucket = stack.resource("MediaBucket")
    assert form["fields"]["key"] == f"{seller.tenant_id}/{key}"
    assert form["fields"]["Content-Type"] == "application/pdf"
    assert bucket in form["url"]
    # And the policy S3 enforces pins the bucket, the key, the type and the size an email sends
    from linkstar.outreach.templates import MAX_ATTACHMENT_BYTES

    assert form["max_bytes"] == MAX_ATTACHMENT_BYTES
    policy = policy_of(form)
    conditions = policy["conditions"]
    assert {"bucket": bucket} in conditions
    assert {"key": f"{seller.tenant_id}/{key}"} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1, MAX_ATTACHMENT_BYTES] in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)
    # And it expires in 15 minutes, when the answer says
    expires_at = datetime.fromisoformat(form["expires_at"])
    assert expires_at == datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < expires_at - before <= timedelta(minutes=15, seconds=5)
    # And a second form for the same file is for another key
    again = body_of(request_upload(stack, seller, "Terms 2026.pdf", "application/pdf", 10))
    assert again["key"] != key


def test_the_size_limit_is_the_largest_any_channel_sends_the_type_at(stack: Stack) -> None:
    from linkstar.outreach.templates import MAX_ATTACHMENT_BYTES, MMS_MEDIA_TYPES

    seller = new_seller(stack, "Limits")
    # A picture may be an attachment (10 MiB), a video only an MMS (600 KB)
    png = body_of(request_upload(stack, seller, "sale.png", "image/png", 100))
    mp4 = body_of(request_upload(stack, seller, "clip.mp4", "video/mp4", 100))
    assert png["max_bytes"] == MAX_ATTACHMENT_BYTES
    assert mp4["max_bytes"] == MMS_MEDIA_TYPES["video/mp4"] == 600_000
    assert ["content-length-range", 1, 600_000] in policy_of(mp4)["conditions"]


def test_the_caller_cannot_choose_where_the_file_goes(stack: Stack) -> None:
    # Given two sellers
    owner = new_seller(stack, "Owner")
    other = new_seller(stack, "Climber")
    # When one names a file that climbs into the other's folder
    form = body_of(
        request_upload(stack, other, f"../{owner.tenant_id}/terms.pdf", "application/pdf", 10)
    )
    # Then only its last part is kept, in the caller's own folder
    assert form["fields"]["key"].startswith(f"{other.tenant_id}/")
    assert form["key"].endswith("/terms.pdf") and ".." not in form["key"]
    # And a key given outright is refused
    chosen = call(
        stack,
        "POST",
        "/media/uploads",
        other.api_key,
        {"filename": "a.pdf", "content_type": "application/pdf", "size": 1, "key": "x/a.pdf"},
    )
    assert chosen.status_code == 400
    assert body_of(chosen)["code"] == "validation_error"


def test_a_name_in_other_scripts_or_without_its_ending_still_makes_a_sendable_key(
    stack: Stack,
) -> None:
    seller = new_seller(stack, "Naming")
    chinese = body_of(request_upload(stack, seller, "产品目录 2026.PDF", "application/pdf", 10))
    assert chinese["key"].endswith("/2026.pdf")
    bare = body_of(request_upload(stack, seller, "catalogue", "application/pdf", 10))
    assert bare["key"].endswith("/catalogue.pdf")


def test_types_and_sizes_no_channel_sends_are_refused_in_the_readers_language(
    stack: Stack,
) -> None:
    seller = new_seller(stack, "Refused")
    # A program is sent by no channel
    exe = request_upload(stack, seller, "setup.exe", "application/x-msdownload", 10)
    assert exe.status_code == 400
    assert body_of(exe)["code"] == "media_type_not_allowed"
    assert "application/x-msdownload" in body_of(exe)["message"]
    assert "application/pdf" in body_of(exe)["message"]
    zh = request_upload(
        stack, seller, "setup.exe", "application/x-msdownload", 10, language="zh-CN"
    )
    assert body_of(zh)["message"].startswith("没有渠道能发送")
    # A video larger than an MMS takes
    big = request_upload(stack, seller, "clip.mp4", "video/mp4", 600_001)
    assert big.status_code == 400
    assert body_of(big)["code"] == "media_too_large"
    assert body_of(big)["details"] == {"size": 600_001, "max_bytes": 600_000}
    assert body_of(big)["message"] == (
        "a video/mp4 file may be 600000 bytes at most to be sent; this one is 600001"
    )
    zh_big = request_upload(stack, seller, "clip.mp4", "video/mp4", 600_001, language="zh-CN")
    assert (
        body_of(zh_big)["message"] == "video/mp4 文件最多 600000 字节才能发送；此文件为 600001 字节"
    )
    # An empty file
    empty = request_upload(stack, seller, "a.pdf", "application/pdf", 0)
    assert (empty.status_code, body_of(empty)["code"]) == (400, "validation_error")


def test_only_a_manager_uploads_and_deletes(stack: Stack) -> None:
    seller = new_seller(stack, "Roles")
    key = upload(stack, seller, "a.pdf", "application/pdf", PDF)
    created = call(stack, "POST", "/api-keys", seller.api_key, {"role": "operator"})
    operator = Seller(**{**seller.__dict__, "api_key": body_of(created)["api_key"]})
    assert request_upload(stack, operator, "b.pdf", "application/pdf", 10).status_code == 403
    deleted = call(stack, "DELETE", f"/media/{quote(key, safe='')}", operator.api_key)
    assert deleted.status_code == 403
    # Listing is for anyone with a key
    assert [f["key"] for f in listed(stack, operator)["files"]] == [key]


# ---------------------------------------------------------------- list and delete


def test_uploaded_files_are_listed_page_by_page_and_deleted(stack: Stack) -> None:
    # Given a seller who uploaded a PDF and a picture
    seller = new_seller(stack, "Listing")
    pdf = upload(stack, seller, "terms.pdf", "application/pdf", PDF)
    png = upload(stack, seller, "sale.png", "image/png", PNG)
    # When they list their folder
    page = listed(stack, seller)
    # Then both are there, with their size, type and time
    files = {f["key"]: f for f in page["files"]}
    assert set(files) == {pdf, png}
    assert (files[pdf]["size"], files[pdf]["content_type"]) == (len(PDF), "application/pdf")
    assert (files[png]["size"], files[png]["content_type"]) == (len(PNG), "image/png")
    assert datetime.fromisoformat(files[pdf]["last_modified"]).tzinfo is not None
    assert page["next_token"] is None
    # And one at a time, page after page
    first = listed(stack, seller, "?limit=1")
    assert len(first["files"]) == 1 and first["next_token"]
    second = listed(stack, seller, f"?limit=1&next_token={first['next_token']}")
    assert [f["key"] for f in first["files"] + second["files"]] == sorted([pdf, png])
    assert second["next_token"] is None
    # When they delete the PDF by its URL-encoded key
    deleted = call(stack, "DELETE", f"/media/{quote(pdf, safe='')}", seller.api_key)
    # Then it is gone, and deleting it again finds nothing
    assert deleted.status_code == 204
    assert [f["key"] for f in listed(stack, seller)["files"]] == [png]
    again = call(stack, "DELETE", f"/media/{quote(pdf, safe='')}", seller.api_key)
    assert (again.status_code, body_of(again)["code"]) == (404, "media_not_found")
    zh = call(stack, "DELETE", f"/media/{quote(pdf, safe='')}", seller.api_key, language="zh-CN")
    assert body_of(zh)["message"] == f"媒体文件夹中没有文件 {pdf}"


def test_a_bad_next_token_is_refused(stack: Stack) -> None:
    seller = new_seller(stack, "Tokens")
    answer = call(stack, "GET", "/media?next_token=%%%", seller.api_key)
    assert (answer.status_code, body_of(answer)["code"]) == (400, "invalid_next_token")


def test_one_sellers_files_are_neither_listed_nor_deleted_by_another(stack: Stack) -> None:
    # Given a file in one seller's folder
    owner = new_seller(stack, "Keeper")
    key = upload(stack, owner, "terms.pdf", "application/pdf", PDF)
    other = new_seller(stack, "Stranger")
    # Then another seller lists nothing, and deleting the key (or climbing to it) finds nothing
    assert listed(stack, other)["files"] == []
    for target in (key, f"../{owner.tenant_id}/{key}", f"{owner.tenant_id}/{key}"):
        answer = call(stack, "DELETE", f"/media/{quote(target, safe='')}", other.api_key)
        assert (answer.status_code, body_of(answer)["code"]) == (404, "media_not_found"), target
    # And the owner still has it
    assert [f["key"] for f in listed(stack, owner)["files"]] == [key]


# ---------------------------------------------------------------- templates naming files


def test_a_template_naming_an_uploaded_file_is_saved(stack: Stack) -> None:
    seller = new_seller(stack, "Saving")
    key = upload(stack, seller, "invoice.pdf", "application/pdf", PDF)
    picture = upload(stack, seller, "sale.png", "image/png", PNG)
    assert save_template(stack, seller, email_attaching(key)).status_code == 200
    assert save_template(stack, seller, mms_sending(picture)).status_code == 200
    templates = body_of(call(stack, "GET", "/templates", seller.api_key))["templates"]
    assert {t["template_id"] for t in templates} == {"order.invoice", "promo.picture"}


def test_a_template_naming_a_missing_file_is_refused_naming_it(stack: Stack) -> None:
    # Given a file only in another seller's folder
    owner = new_seller(stack, "Has")
    key = upload(stack, owner, "invoice.pdf", "application/pdf", PDF)
    seller = new_seller(stack, "HasNot")
    # When the other seller saves a template naming its key
    answer = save_template(stack, seller, email_attaching(key))
    # Then it is refused, naming the key, in the reader's language
    assert answer.status_code == 400
    refused = body_of(answer)
    assert refused["code"] == "template_media_not_found"
    assert refused["details"] == {"key": key}
    assert refused["message"] == (
        f"{key} is not in your media folder: upload it first (POST /media/uploads)"
    )
    zh = body_of(save_template(stack, seller, email_attaching(key), language="zh-CN"))
    assert zh["message"] == f"媒体文件夹中没有 {key}：请先上传（POST /media/uploads）"
    assert body_of(call(stack, "GET", "/templates", seller.api_key))["templates"] == []


def test_a_template_declaring_another_type_than_the_file_is_refused(stack: Stack) -> None:
    seller = new_seller(stack, "Mistyped")
    picture = upload(stack, seller, "sale.png", "image/png", PNG)
    answer = save_template(stack, seller, mms_sending(picture, "image/jpeg"))
    assert answer.status_code == 400
    refused = body_of(answer)
    assert (refused["code"], refused["details"]) == (
        "template_media_type_mismatch",
        {"key": picture},
    )
    assert refused["message"] == (
        f"{picture} is stored as image/png, not image/jpeg as the template says"
    )


def test_a_file_larger_than_its_channel_sends_is_refused(stack: Stack) -> None:
    # Given a picture under the attachment limit (so it could be uploaded) but over MMS's 2 MB
    seller = new_seller(stack, "Oversized")
    picture = upload(stack, seller, "poster.png", "image/png", PNG + b"\x00" * 2_000_000)
    # When an SMS template sends it
    answer = save_template(stack, seller, mms_sending(picture))
    # Then it is refused, saying the limit
    assert answer.status_code == 400
    refused = body_of(answer)
    assert (refused["code"], refused["details"]) == ("template_media_too_large", {"key": picture})
    assert refused["message"] == f"{picture} is 2000072 bytes; it may be 2000000 at most"
    zh = body_of(save_template(stack, seller, mms_sending(picture), language="zh-CN"))
    assert zh["message"] == f"{picture} 为 2000072 字节，最多只能 2000000 字节"


def test_attachments_larger_together_than_an_email_carries_are_refused(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkstar.outreach import templates

    # Given an email limit of 100 bytes and two 60-byte PDFs
    monkeypatch.setattr(templates, "MAX_ATTACHMENT_BYTES", 100)
    seller = new_seller(stack, "Heavy")
    first = upload(stack, seller, "a.pdf", "application/pdf", PDF[:60].ljust(60, b" "))
    second = upload(stack, seller, "b.pdf", "application/pdf", PDF[:60].ljust(60, b" "))
    # Then one is fine, both are too many bytes
    assert save_template(stack, seller, email_attaching(first)).status_code == 200
    answer = save_template(stack, seller, email_attaching(first, second))
    assert answer.status_code == 400
    refused = body_of(answer)
    assert refused["code"] == "template_media_too_large"
    assert refused["message"] == (
        f"the attachments ({first}, {second}) are 120 bytes together; "
        "an email may carry 100 at most"
    )

"""Media on the local stack over HTTP, as a seller's browser does it: ask the API for an upload
form, post the file with that form straight to S3 (the local moto server), see it listed, attach
it to a template, and delete it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_a_file_posted_with_the_upload_form_is_listed_and_attachable(
    stack: dict[str, Any],
) -> None:
    api, admin = stack["api_url"], stack["admin_token"]
    tenant = requests.post(
        f"{api}/tenants", headers=_headers(admin), json={"name": "Media e2e"}, timeout=10
    ).json()
    key = _headers(tenant["api_key"])
    # Given an upload form for the seller's terms
    asked = requests.post(
        f"{api}/media/uploads",
        headers=key,
        json={"filename": "Terms 2026.pdf", "content_type": "application/pdf", "size": len(PDF)},
        timeout=10,
    )
    assert asked.status_code == 201, asked.text
    form = asked.json()
    assert form["url"].startswith("http://127.0.0.1:")  # the stack's own S3, never AWS

    # When the browser posts the file with it, straight to S3
    posted = requests.post(
        form["url"],
        data=form["fields"],
        files={"file": ("Terms 2026.pdf", PDF, "application/pdf")},
        timeout=10,
    )
    assert posted.status_code in (200, 201, 204), posted.text

    # Then the seller's folder lists it, with its size and type
    listed = requests.get(f"{api}/media", headers=key, timeout=10)
    assert listed.status_code == 200, listed.text
    (file,) = listed.json()["files"]
    assert (file["key"], file["size"], file["content_type"]) == (
        form["key"],
        len(PDF),
        "application/pdf",
    )
    assert listed.json()["next_token"] is None

    # And an email template may attach it
    template = {
        "template_id": "welcome.terms",
        "channel": "email",
        "locale": "en",
        "purpose": "transactional",
        "subject": "Welcome",
        "body": "Our terms are attached.",
        "attachments": [{"key": form["key"], "content_type": "application/pdf"}],
    }
    saved = requests.post(f"{api}/templates", headers=key, json=template, timeout=10)
    assert saved.status_code == 200, saved.text

    # And once deleted it is gone, and a template naming it is refused
    deleted = requests.delete(f"{api}/media/{quote(form['key'], safe='')}", headers=key, timeout=10)
    assert deleted.status_code == 204, deleted.text
    assert requests.get(f"{api}/media", headers=key, timeout=10).json()["files"] == []
    refused = requests.post(f"{api}/templates", headers=key, json=template, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["code"] == "template_media_not_found"

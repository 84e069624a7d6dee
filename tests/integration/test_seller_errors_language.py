"""Errors about stores, keys, orders, customers and paging are written in the language the
request asks for (``Accept-Language``); the machine-readable code never changes."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Seller, Stack, body_of, call


def _both(stack: Stack, method: str, path: str, token: str | None, body: Any = None) -> tuple:
    chinese = call(stack, method, path, token, body, language="zh-CN")
    english = call(stack, method, path, token, body)
    assert chinese.status_code == english.status_code
    assert body_of(chinese)["code"] == body_of(english)["code"]
    return chinese.status_code, body_of(chinese), body_of(english)


def test_an_unknown_store_is_not_found_in_chinese(stack: Stack, seller: Seller) -> None:
    status, chinese, english = _both(stack, "GET", "/stores/s_nosuchstore", seller.api_key)

    assert status == 404
    assert (chinese["code"], chinese["message"]) == ("store_not_found", "找不到该店铺")
    assert english["message"] == "no such store"


def test_a_bad_page_token_is_refused_in_chinese(stack: Stack, seller: Seller) -> None:
    for path in ("/orders?next_token=bm90LWEtdG9rZW4", "/customers?next_token=%%%"):
        status, chinese, english = _both(stack, "GET", path, seller.api_key)

        assert status == 400, path
        assert (chinese["code"], chinese["message"]) == ("invalid_next_token", "next_token 无效")
        assert english["message"] == "next_token is not valid"


def test_listing_filters_and_missing_records_answer_in_chinese(
    stack: Stack, seller: Seller
) -> None:
    cases = [
        ("/orders?status=lost", "未知的订单状态", "unknown status"),
        (
            "/orders?from=yesterday",
            "from 须为日期（YYYY-MM-DD）",
            "from must be a date (YYYY-MM-DD)",
        ),
        ("/orders/o_nosuchorder", "找不到该订单", "no such order"),
        ("/customers/c_nosuchcustomer", "找不到该客户", "no such customer"),
        (
            "/reports/daily?from=2024-01-02&to=2024-01-01",
            "from 须早于 to，且相隔不超过 732 天",
            "from must be before to, at most 732 days",
        ),
    ]
    for path, zh, en in cases:
        _, chinese, english = _both(stack, "GET", path, seller.api_key)
        assert (chinese["message"], english["message"]) == (zh, en), path


def test_keys_and_roles_are_explained_in_chinese(stack: Stack, seller: Seller) -> None:
    # A revoked-looking key, no key at all, and a viewer key asking for an admin's route
    _, bad_key, bad_key_en = _both(stack, "GET", "/me", f"lsk_{seller.tenant_id}_{'x' * 43}")
    _, no_key, _ = _both(stack, "GET", "/stores", None)
    viewer = body_of(call(stack, "POST", "/api-keys", seller.api_key, {"role": "viewer"}))
    _, forbidden, forbidden_en = _both(
        stack, "POST", "/api-keys", viewer["api_key"], {"role": "admin"}
    )
    _, operator_only, _ = _both(stack, "GET", "/admin/dlq", seller.api_key)

    assert (bad_key["code"], bad_key["message"]) == ("invalid_api_key", "API 密钥无效或已被吊销")
    assert bad_key_en["message"] == "unknown or revoked API key"
    assert no_key["message"] == "缺少 Authorization: Bearer <key> 请求头"
    assert (forbidden["code"], forbidden["message"]) == (
        "role_forbidden",
        "此操作需要 admin 或更高的角色",
    )
    assert forbidden_en["message"] == "this needs role admin or higher"
    assert operator_only["message"] == "此接口需要运营方的管理员令牌"


def test_connecting_a_store_twice_or_wrongly_is_explained_in_chinese(
    stack: Stack, seller: Seller
) -> None:
    tenant = body_of(call(stack, "POST", "/tenants", stack.admin_token, {"name": "Twice"}))
    store = {"platform": "amazon", "external_id": "A1TWICESELLER", "market": "US"}
    assert call(stack, "POST", "/stores", tenant["api_key"], store).status_code == 201

    status, again, again_en = _both(stack, "POST", "/stores", tenant["api_key"], store)
    _, no_secret, no_secret_en = _both(
        stack, "POST", "/stores", tenant["api_key"], {**store, "platform": "shopify"}
    )

    assert status == 409
    assert (again["code"], again["message"]) == (
        "store_exists",
        "amazon 店铺 A1TWICESELLER 已经连接",
    )
    assert again_en["message"] == "amazon store A1TWICESELLER is already connected"
    # a refused body: pydantic's list names our rule in the reader's language, without
    # pydantic's English "Value error, " before it
    assert no_secret["code"] == "validation_error"
    assert [e["msg"] for e in no_secret["errors"]] == ["shopify 店铺必须填写 webhook_secret"]
    assert [e["msg"] for e in no_secret_en["errors"]] == ["webhook_secret is required for shopify"]


def test_invalid_credentials_name_the_fields_in_chinese(stack: Stack) -> None:
    tenant = body_of(call(stack, "POST", "/tenants", stack.admin_token, {"name": "Creds"}))
    store = body_of(
        call(
            stack,
            "POST",
            "/stores",
            tenant["api_key"],
            {"platform": "amazon", "external_id": "A1CREDSSELLER", "market": "US"},
        )
    )
    path = f"/stores/{store['store_id']}/credentials"
    secret = {"lwa_client_id": "amzn1.app", "lwa_client_secret": "very-secret-value"}

    status, chinese, english = _both(stack, "PUT", path, tenant["api_key"], secret)

    assert status == 400
    assert chinese["code"] == "invalid_credentials"
    assert chinese["message"] == "amazon 凭证无效：refresh_token：缺少此字段"
    assert english["message"] == "invalid amazon credentials: refresh_token: Field required"
    assert "very-secret-value" not in chinese["message"] + english["message"]


def test_an_unknown_dead_letter_queue_is_refused_in_chinese(stack: Stack) -> None:
    status, chinese, english = _both(stack, "GET", "/admin/dlq?queue=nope", stack.admin_token)

    assert status == 400
    assert chinese["code"] == "invalid_query"
    assert chinese["message"].startswith("queue 须为以下之一：")
    assert "ingest、" in chinese["message"]  # a list, joined the Chinese way
    assert english["message"].startswith("queue must be one of ")
    assert "ingest, " in english["message"]

"""The API answers in the language a request asks for: sentences it writes (errors here; reasons,
cost workings and import problems in their own tests) follow ``Accept-Language``, codes never do,
and every answer says its language so caches keep the two apart."""

from __future__ import annotations

from tests.integration.conftest import Stack, body_of, call


def test_an_error_is_written_in_the_language_asked_for(stack: Stack) -> None:
    # Given a body the API refuses, asked for in Chinese and then with no preference
    chinese = call(
        stack, "POST", "/tenants", stack.admin_token, {"name": 7}, language="zh-CN,en;q=0.5"
    )
    plain = call(stack, "POST", "/tenants", stack.admin_token, {"name": 7})
    # Then the code is the same and only the sentence changes language
    assert (chinese.status_code, plain.status_code) == (400, 400)
    assert body_of(chinese)["code"] == body_of(plain)["code"] == "validation_error"
    assert body_of(chinese)["message"] == "请求体不符合要求"
    assert body_of(plain)["message"] == "the request body is not valid"
    assert chinese.headers["Content-Language"] == "zh-CN"
    assert plain.headers["Content-Language"] == "en"
    assert "Accept-Language" in chinese.headers["Vary"]


def test_a_language_the_api_does_not_have_is_english_not_an_error(stack: Stack) -> None:
    answer = call(stack, "GET", "/health", None, language="fr-FR;q=0.9, *;q=0.1")
    assert answer.status_code == 200
    assert answer.headers["Content-Language"] == "en"

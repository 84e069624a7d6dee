"""Reads memoised per Lambda invocation: kept only inside a scope, and only for that scope."""

from __future__ import annotations

from linkstar import memo


def test_outside_a_scope_every_read_loads_and_inside_one_each_key_loads_once() -> None:
    loads: list[str] = []

    def load(name: str) -> str:
        loads.append(name)
        return name.upper()

    assert memo.get("a", lambda: load("a")) == "A"
    assert memo.get("a", lambda: load("a")) == "A"
    assert loads == ["a", "a"]  # the API and direct service calls never see a stale value

    loads.clear()
    with memo.scope():
        assert [memo.get(k, lambda k=k: load(k)) for k in ("a", "b", "a", "b")] == list("ABAB")
    assert loads == ["a", "b"]

    loads.clear()
    with memo.scope():  # the next invocation starts empty
        memo.get("a", lambda: load("a"))
    memo.get("a", lambda: load("a"))  # and nothing outlives it
    assert loads == ["a", "a"]

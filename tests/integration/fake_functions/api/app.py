"""A throwaway Chalice app standing in for functions/api in the local stack's own tests."""

import os

from chalice import Chalice

app = Chalice(app_name="fake-api")


@app.route("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "table": os.environ.get("TABLE_NAME", "")}


@app.route("/echo/{name}")
def echo(name: str) -> dict[str, str]:
    return {"name": name, "resource_path": app.current_request.context["resourcePath"]}

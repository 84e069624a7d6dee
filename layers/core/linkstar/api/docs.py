"""The API reference page (``GET /docs``), rendered on the server from the OpenAPI document as one
self-contained HTML page: no script, no stylesheet or font from anywhere else, so it works on
the local stack offline and under a strict Content-Security-Policy.

Operations are grouped by tag, each with its auth, parameters, request body and answers; every
schema a body names is listed once at the end, its properties in a table, and linked to.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;line-height:1.45}
header{background:#0b3d91;color:#fff;padding:1rem 2rem}header a{color:#cfe0ff}
main{display:flex}nav{width:16rem;flex:none;padding:1rem;border-right:1px solid #ddd;
position:sticky;top:0;height:100vh;overflow:auto;font-size:.9rem}
nav a{display:block;color:#0b3d91;text-decoration:none;padding:.1rem 0}
section.content{padding:1rem 2rem;max-width:72rem;overflow-x:auto}
.op{border:1px solid #d0d7de;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.m{display:inline-block;min-width:4.2rem;font-weight:700;font-family:monospace}
.get{color:#1a7f37}.post{color:#0969da}.put{color:#9a6700}.patch{color:#8250df}
.delete{color:#cf222e}code,.path{font-family:ui-monospace,monospace}
table{border-collapse:collapse;margin:.3rem 0;font-size:.9rem}
td,th{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left;vertical-align:top}
.auth{font-size:.85rem;color:#57606a}.schema{margin:1.5rem 0}
"""


AUTH = {
    "api_key": "needs a tenant's API key (Authorization: Bearer &lt;key&gt;)",
    "admin_token": "needs the operator's admin token (Authorization: Bearer &lt;token&gt;)",
    "none": "public: no credentials",
    "platform_signature": "called by the platform, signed",
}
_CODE = re.compile(r"`{1,2}([^`]+)`{1,2}")  # Markdown `code`, or reStructuredText ``code``


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _prose(text: Any) -> str:
    """Escaped text with Markdown's `code` shown as code."""
    return _CODE.sub(r"<code>\1</code>", _e(text))


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_text(schema: dict[str, Any]) -> str:
    """A schema as a short, linked type: ``array of <a>Order</a>``, ``string (date-time)``."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"<a href='#schema-{_e(name)}'>{_e(name)}</a>"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(type_text(s) for s in schema[key])
    if "enum" in schema:
        return "one of " + ", ".join(f"<code>{_e(v)}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{_e(schema['const'])}</code>"
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items") or schema.get("prefixItems")
        if isinstance(items, list):
            return "[" + ", ".join(type_text(s) for s in items) + "]"
        return "array of " + type_text(items or {})
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return "object of " + type_text(extra)
        return "object"
    if kind is None:
        return "any"
    text = _e(kind)
    if "format" in schema:
        text += f" ({_e(schema['format'])})"
    return text


def _default(schema: dict[str, Any]) -> str:
    if "default" not in schema or schema["default"] in (None, [], {}):
        return ""
    return f" (default <code>{_e(json.dumps(schema['default']))}</code>)"


def _table(headings: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _content(content: dict[str, Any]) -> str:
    return "<br>".join(
        f"<code>{_e(media)}</code>: {type_text(spec.get('schema') or {})}"
        for media, spec in content.items()
    )


def _operation(method: str, path: str, op: dict[str, Any]) -> str:
    anchor = _e(op.get("operationId", f"{method}-{path}"))
    auth = AUTH.get(op.get("x-linkstar-auth", ""), "not documented yet")
    parts = [
        f"<div class='op' id='op-{anchor}'><span class='m {method}'>{method.upper()}</span> "
        f"<span class='path'>{_e(path)}</span> — {_prose(op.get('summary', ''))}"
        f"<div class='auth'>{auth}</div>"
    ]
    if op.get("description"):
        parts.append(f"<p>{_prose(op['description'])}</p>")
    params = op.get("parameters") or []
    if params:
        rows = [
            [
                f"<code>{_e(p['name'])}</code>",
                _e(p["in"]),
                type_text(p.get("schema") or {}),
                "yes" if p.get("required") else "",
                _prose(p.get("description", "")) + _default(p.get("schema") or {}),
            ]
            for p in params
        ]
        parts.append(_table(["parameter", "in", "type", "required", "description"], rows))
    if "requestBody" in op:
        parts.append(f"<p><b>Body</b><br>{_content(op['requestBody'].get('content', {}))}</p>")
    rows = [
        [
            f"<code>{_e(status)}</code>",
            _prose(answer.get("description", "")),
            _content(answer.get("content", {})),
        ]
        for status, answer in op.get("responses", {}).items()
    ]
    parts.append(_table(["status", "meaning", "body"], rows))
    parts.append("</div>")
    return "".join(parts)


def _schema(name: str, schema: dict[str, Any]) -> str:
    parts = [f"<div class='schema' id='schema-{_e(name)}'><h3>{_e(name)}</h3>"]
    if schema.get("description"):
        parts.append(f"<p>{_prose(schema['description'])}</p>")
    properties = schema.get("properties")
    if properties:
        required = set(schema.get("required", []))
        rows = [
            [
                f"<code>{_e(prop)}</code>",
                type_text(spec),
                "yes" if prop in required else "",
                _prose(spec.get("description", "")) + _default(spec),
            ]
            for prop, spec in properties.items()
        ]
        parts.append(_table(["field", "type", "required", "description"], rows))
    else:
        parts.append(f"<p>{type_text(schema)}</p>")
    parts.append("</div>")
    return "".join(parts)


def render(document: dict[str, Any]) -> str:
    """The whole page for an OpenAPI document."""
    by_tag: dict[str, list[str]] = {}
    nav: dict[str, list[str]] = {}
    for path, operations in document.get("paths", {}).items():
        for method, op in operations.items():
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append(_operation(method, path, op))
            anchor = _e(op.get("operationId", ""))
            nav.setdefault(tag, []).append(
                f"<a href='#op-{anchor}'>{_e(method.upper())} {_e(path)}</a>"
            )
    info = document.get("info", {})
    schemas = document.get("components", {}).get("schemas", {})
    body = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{_e(info.get('title', 'API'))} reference</title><style>{STYLE}</style></head>",
        f"<body><header><h1>{_e(info.get('title', 'API'))}</h1>",
        f"<p>{_prose(info.get('description', ''))} Machine-readable: "
        "<a href='openapi.json'>openapi.json</a> (OpenAPI 3.1).</p></header><main><nav>",
    ]
    for tag, links in nav.items():
        body.append(f"<b><a href='#tag-{_e(tag)}'>{_e(tag)}</a></b>{''.join(links)}")
    body.append("<b><a href='#schemas'>schemas</a></b></nav><section class='content'>")
    for tag, operations in by_tag.items():
        body.append(f"<h2 id='tag-{_e(tag)}'>{_e(tag)}</h2>{''.join(operations)}")
    body.append("<h2 id='schemas'>Schemas</h2>")
    body.extend(_schema(name, schema) for name, schema in schemas.items())
    body.append("</section></main></body></html>")
    return "".join(body)

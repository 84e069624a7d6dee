"""The HTTP API: Chalice blueprints, one module per resource. ``functions/api/app.py`` only
calls :func:`register`."""

from __future__ import annotations

from chalice import Chalice


def register(app: Chalice) -> None:
    from linkstar.api import admin, customers, orders, reports, stores, tenants, webhooks

    for module in (webhooks, tenants, stores, orders, customers, reports, admin):
        app.register_blueprint(module.bp)

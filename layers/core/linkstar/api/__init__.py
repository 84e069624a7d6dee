"""The HTTP API: Chalice blueprints, one module per resource. ``functions/api/app.py`` only
calls :func:`register`."""

from __future__ import annotations

from chalice import Chalice


def register(app: Chalice) -> None:
    from linkstar.api import (
        admin,
        billing,
        console,
        cost_actuals,
        costs,
        customers,
        funnel,
        kpis,
        media,
        orders,
        outreach,
        outreach_public,
        reports,
        settlements,
        stores,
        tenants,
        webhooks,
    )

    modules = [webhooks, tenants, stores, orders, customers, reports, admin, outreach, media]
    modules.append(billing)
    modules += [kpis, funnel, costs, settlements, cost_actuals]
    modules.append(console)  # the seller console: its page and static assets
    for module in (*modules, outreach_public):
        app.register_blueprint(module.bp)

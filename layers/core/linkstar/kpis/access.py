"""What the KPI, funnel and cost services share about a caller and its tenant: the role a change
needs, who a change is audited as, and the tenant's reporting currency."""

from __future__ import annotations

from typing import Any

from linkstar.errors import Forbidden, NotFound
from linkstar.tenants.models import Principal, Role
from linkstar.text import Text


def require_role(who: Principal, role: Role, what: Text | str) -> None:
    """``Forbidden`` unless ``who`` holds ``role`` or above; ``what`` names the action (a
    :class:`Text`, so the refusal reads in the caller's language)."""
    if not who.role.at_least(role):
        raise Forbidden(
            Text("kpi.role_needed", action=what, role=role.value), code="role_forbidden"
        )


def audit_actor(who: Principal) -> dict[str, Any]:
    """``who`` as the audit trail records the author of a change."""
    return {"key_id": who.key_id, "role": str(who.role), "owner": who.owner}


def reporting_currency(tenant_id: str) -> str:
    from linkstar.store import tenants

    tenant = tenants.load_tenant(tenant_id)
    if tenant is None:
        raise NotFound(Text("kpi.tenant_not_found"), code="tenant_not_found")
    return tenant.reporting_currency

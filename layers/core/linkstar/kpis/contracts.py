"""The tenant's agency contracts as a list (``GET /settlements/contracts``): what the console
offers to pick a statement from. Saving one and settling it are
:func:`linkstar.kpis.service.put_contract` and :func:`linkstar.kpis.service.statement`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from linkstar.kpis.settlement import Contract
from linkstar.store import kpis as store
from linkstar.tenants.models import Principal, Role


class ContractEntry(BaseModel):
    """One agency's contract and the scope its KPIs and metrics are read over."""

    model_config = ConfigDict(frozen=True)

    agency: str
    contract: Contract
    scope: dict[str, str | None] = Field(description="store_id, platform, market, campaign …")


class ContractList(BaseModel):
    """The agency contracts, by agency name."""

    contracts: list[ContractEntry]


def list_contracts(who: Principal) -> ContractList:
    """Every contract of ``who``'s tenant, as reading a statement allows: an operator sees only
    the agency its key acts for (the statement of any other is not found for it either)."""
    entries = []
    for doc in store.list_docs(who.tenant_id, "CONTRACT#"):
        contract = Contract.model_validate(doc["contract"])
        if who.role == Role.OPERATOR and who.owner != contract.agency:
            continue
        entries.append(
            ContractEntry(agency=contract.agency, contract=contract, scope=doc.get("scope") or {})
        )
    return ContractList(contracts=sorted(entries, key=lambda entry: entry.agency))

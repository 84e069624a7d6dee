"""Tenant, API key and role models (domain entities and API input/output)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from linkstar import money
from linkstar.text import Text


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    OPERATOR = "operator"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.OWNER: 50, Role.ADMIN: 40, Role.MANAGER: 30, Role.OPERATOR: 20, Role.VIEWER: 10}


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    reporting_currency: str = "USD"

    @field_validator("reporting_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.upper()
        if not money.is_currency(value):
            # A Text: pydantic renders the error when the API answers, in the reader's language.
            raise ValueError(Text("tenant.invalid_currency"))
        return value


class Tenant(BaseModel):
    tenant_id: str
    name: str
    reporting_currency: str
    created_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    name: str | None = Field(default=None, max_length=200)
    # The KPI owner (a person, team or agency) this key acts for: an operator key sees only the
    # KPIs that owner owns.
    owner: str | None = Field(default=None, min_length=1, max_length=100)


class ApiKey(BaseModel):
    """A key as stored: the secret itself is never kept, only its SHA-256."""

    tenant_id: str
    key_id: str
    role: Role
    name: str | None = None
    owner: str | None = None
    created_at: datetime
    created_by: str | None = None
    revoked: bool = False


class Principal(BaseModel):
    """Who is calling: resolved from the bearer token on every request."""

    tenant_id: str
    key_id: str
    role: Role
    owner: str | None = None

"""Tenants, API keys and roles: who may call the seller API, and with what rights."""

"""Customers: one per tenant per email across stores, with totals derived from their orders."""

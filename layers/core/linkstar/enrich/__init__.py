"""Enrichment: fetch a marketplace order its notification only named, and merge it in."""

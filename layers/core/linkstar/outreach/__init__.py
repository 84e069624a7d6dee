"""Outreach: contacts and consent, templates, flows, compliance, sending and feedback.

Pure rules live in modules with no AWS calls (``templates``, ``sms``, ``compliance``,
``flows``, ``feedback_events``); the repository (``linkstar.store.outreach``) and the provider
gateways (``providers``) hold the I/O.
"""

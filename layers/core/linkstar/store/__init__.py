"""DynamoDB access: the only package that knows the table's key schema.

Single table (``TABLE_NAME``), string keys ``pk``/``sk`` and two GSIs (``gsi1pk``/``gsi1sk``,
``gsi2pk``/``gsi2sk``; gsi2 only holds messages, by flow).
Every partition key begins with ``T#<tenant_id>#`` (the tenant item itself is ``T#<tenant_id>``;
the exceptions are routing items that exist to *find* the tenant: the Amazon SellerId, a
provider's message id, a phone that may reply STOP; and the sharded timers and the registries of
segment flows and tenants, which the schedules scan across tenants),
so a query built for one tenant can never reach another, and an IAM session policy can pin
``dynamodb:LeadingKeys`` to ``T#<tenant_id>*``. Partition keys are per entity, not per tenant, so
one busy tenant spreads over many partitions.

| entity            | pk                                   | sk                     | gsi1pk               | gsi1sk                       |
|-------------------|--------------------------------------|------------------------|----------------------|------------------------------|
| tenant            | ``T#<tid>``                          | ``TENANT``             |                      |                              |
| API key (hashed)  | ``T#<tid>#KEY#<sha256(key)>``        | ``KEY``                | ``T#<tid>#KEYS``     | ``<key_id>``                 |
| store             | ``T#<tid>#STORE#<store_id>``         | ``STORE``              | ``T#<tid>#STORES``   | ``<store_id>``               |
| store ingest stats| ``T#<tid>#STORE#<store_id>``         | ``STATS``              |                      |                              |
| order             | ``T#<tid>#ORDER#<order_id>``         | ``ORDER``              | ``T#<tid>#ORDERS``   | ``<created_at>#<order_id>``  |
| customer          | ``T#<tid>#CUST#<customer_id>``       | ``CUSTOMER``           | ``T#<tid>#CUSTOMERS``| ``<customer_id>``            |
| checkout          | ``T#<tid>#CHECKOUT#<store>#<token>`` | ``CHECKOUT``           |                      |                              |
| daily aggregate   | ``T#<tid>#AGG#<yyyy-mm>``            | ``<day>#<store>#<mkt>``|                      |                              |
| outbox event      | ``T#<tid>#EVT#<event_id>``           | ``EVT#<event_id>``     |                      |                              |
| import job        | ``T#<tid>#STORE#<store_id>``         | ``IMPORT#<job_id>``    |                      |                              |
| inventory level   | ``T#<tid>#INV#<store_id>``           | ``<sku>#<market>``     |                      |                              |
| Amazon seller     | ``AMZSELLER#<seller_id>``            | ``ROUTE``              |                      |                              |
| contact           | ``T#<tid>#CONTACT#<contact_id>``     | ``CONTACT``            | ``T#<tid>#CONTACTS`` | ``<contact_id>``             |
| consent history   | ``T#<tid>#CONTACT#<contact_id>``     | ``CONSENT#<at>#<contact version>#<ch>#<purpose>`` | |                              |
| frequency-cap log | ``T#<tid>#CONTACT#<contact_id>``     | ``CAP#<channel>``      |                      |                              |
| suppression       | ``T#<tid>#SUPP#<ch>#<sha(address)>`` | ``SUPP``               | ``T#<tid>#SUPPS``    | ``<channel>#<at>``           |
| template (locale) | ``T#<tid>#TPL#<template_id>``        | ``<locale>``           | ``T#<tid>#TPLS``     | ``<template_id>#<locale>``   |
| flow              | ``T#<tid>#FLOWS``                    | ``FLOW#<flow_id>``     |                      |                              |
| flow stats        | ``T#<tid>#FLOW#<flow_id>``           | ``STATS``              |                      |                              |
| flow entry guard  | ``T#<tid>#FLOW#<flow_id>``           | ``ENTRY#<contact_id>`` |                      |                              |
| flow run          | ``T#<tid>#RUN#<run_id>``             | ``RUN``                |                      |                              |
| exit watch        | ``T#<tid>#WATCH#<event>#<key>#<sha>``| ``RUN#<run_id>``       |                      |                              |
| message           | ``T#<tid>#MSG#<message_id>``         | ``MSG``                | ``T#<tid>#CMSG#<contact>`` | ``<created>#<mid>`` (gsi2: ``T#<tid>#FMSG#<flow>``) |
| in-app inbox      | ``T#<tid>#INBOX#<contact_id>``       | ``<at>#<message_id>``  |                      |                              |
| attribution       | ``T#<tid>#ATTR#<order_id>``          | ``ATTR``               |                      |                              |
| email reputation  | ``T#<tid>#REP#<yyyy-mm>``            | ``<day>``              |                      |                              |
| outreach settings | ``T#<tid>``                          | ``OUTREACH``           |                      |                              |
| provider message  | ``PMSG#<provider>#<provider_id>``    | ``ROUTE``              |                      |                              |
| inbound route     | ``INBOUND#<channel>#<phone>``        | ``T#<tid>``            |                      |                              |
| timer (4 shards)  | ``TIMER#<shard>``                    | ``<due>#<tid>#<kind>#<ref>`` |                |                              |
| segment flow      | ``SEGFLOWS``                         | ``T#<tid>#<flow_id>``  |                      |                              |
| usage counter     | ``T#<tid>#USAGE#<yyyy-mm>#<shard>``  | ``CTR``                |                      |                              |
| usage alert fired | ``T#<tid>#USAGE#<yyyy-mm>``          | ``ALERT#<key>``        |                      |                              |
| usage record      | ``T#<tid>#UREC#<yyyy-mm>#<shard>``   | ``<message_id>``       |                      |                              |
| plan version      | ``T#<tid>#PLAN``                     | ``V#<effective_from>`` |                      |                              |
| plan audit        | ``T#<tid>#PLANAUDIT``                | ``<at>#<sha>``         |                      |                              |
| billing hold      | ``T#<tid>#BILLHOLD``                 | ``<message_id>``       |                      |                              |
| invoice           | ``T#<tid>#INVOICE``                  | ``<yyyy-mm>``          |                      |                              |
| credit balances   | ``T#<tid>``                          | ``CREDITS``            |                      |                              |
| tenant registry   | ``TENANTS``                          | ``T#<tid>``            |                      |                              |
| metric fact       | ``T#<tid>#METRIC#<metric>#<yyyy-mm>``| ``<date>#<metric>#<dims sha>`` |              |                              |
| metric source     | ``T#<tid>#SOURCES``                  | ``<source>``           |                      |                              |
| KPI definition    | ``T#<tid>#KPIS``                     | ``KPI#<kpi_id>``       |                      |                              |
| KPI owner         | ``T#<tid>#KPIS``                     | ``OWNER#<owner>``      |                      |                              |
| agency contract   | ``T#<tid>#KPIS``                     | ``CONTRACT#<agency>``  |                      |                              |
| KPI audit         | ``T#<tid>#KPIAUDIT``                 | ``<at>#<sha>``         |                      |                              |
| KPI alert state   | ``T#<tid>#KPISTATE#<kpi_id>``        | ``<period>``           |                      |                              |
| funnel stages     | ``T#<tid>``                          | ``FUNNEL``             |                      |                              |
| cohort month      | ``T#<tid>#COHORT``                   | ``<yyyy-mm>``          |                      |                              |
| cost model        | ``T#<tid>``                          | ``COSTMODEL``          |                      |                              |
| FX rate           | ``T#<tid>#FX#<yyyy-mm>``             | ``<day>#<base>#<quote>`` |                    |                              |
| order cost entry  | ``T#<tid>#ORDER#<order_id>``         | ``COST``               |                      |                              |
| cost sums         | ``T#<tid>#COST#<yyyy-mm>``           | ``<day>#<store>#<mkt>``|                      |                              |
| cost sums per SKU | ``T#<tid>#COSTSKU#<yyyy-mm>``        | ``<day>#<sku>#<store>#<mkt>`` |               |                              |
| cost sums per campaign | ``T#<tid>#COSTCMP#<yyyy-mm>``   | ``<day>#<campaign>#<store>#<mkt>`` |          |                              |
| recost status     | ``T#<tid>#RECOST``                   | ``STATUS``             |                      |                              |
| settlement        | ``T#<tid>#STORE#<store_id>``         | ``SETTLEMENT#<sid>``   |                      |                              |
| settlement fees   | ``T#<tid>#SETTLE#<store>#<sid>``     | ``ORDER#<order_id>``   | ``T#<tid>#ORDERFEES#<order_id>`` | ``<store>#<sid>`` |
| actual costs batch| ``T#<tid>#ACTUALS``                   | ``<source>``           |                      |                              |
| has actual costs  | ``T#<tid>``                          | ``ACTUALCOSTS``        |                      |                              |
| actual costs      | ``T#<tid>#ACTUALS#<source>``         | ``ORDER#<order_id>#<cur>`` | ``T#<tid>#ORDERFEES#<order_id>`` | ``ACTUALS#<source>#<cur>`` |

Outbox items carry ``expires_at`` (TTL); the table's stream feeds the publisher function, which
filters on ``INSERT`` of ``sk`` beginning ``EVT#`` (see template.yaml).
"""

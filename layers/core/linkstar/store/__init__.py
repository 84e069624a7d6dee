"""DynamoDB access: the only package that knows the table's key schema.

Single table (``TABLE_NAME``), string keys ``pk``/``sk`` and one GSI (``gsi1pk``/``gsi1sk``).
Every partition key begins with ``T#<tenant_id>#`` (the tenant item itself is ``T#<tenant_id>``;
the one exception is the Amazon SellerId routing item, which exists to *find* the tenant),
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

Outbox items carry ``expires_at`` (TTL); the table's stream feeds the publisher function, which
filters on ``INSERT`` of ``sk`` beginning ``EVT#`` (see template.yaml).
"""

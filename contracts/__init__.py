"""The versioned message contract between Convene and the council's CRM.

One module per message family and version (``crm_v1``, ``invitations_v1``,
``reports_v1``, ``decisions_v1``), the CloudEvents envelope, and a registry
that maps each event type (which is also its routing key) to its model and
its producer. A published version is never edited: a breaking change is a
new module with ``.v2`` types.
"""

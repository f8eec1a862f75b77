"""The REST API (FastAPI): ``/api/v1``, one router per resource, schemas by role,
authentication (log-in tokens and API tokens), row-level access, masking and audit.

:func:`rapport.api.app.create_app` builds the application; ``rapport serve`` runs it.
"""

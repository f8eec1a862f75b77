"""One router per resource; :mod:`rapport.api.app` mounts them under ``/api/v1``."""

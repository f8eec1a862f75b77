"""Survey responses (CSAT, NPS, CES, perceived value, expectation), stored raw with scale."""

from __future__ import annotations

from rapport.store import schema
from rapport.store.repository import Repository

repo = Repository(schema.survey_responses, entity="survey response")

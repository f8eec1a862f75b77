"""Import of customer data from files: readers, column mapping, normalisers, validation,
idempotent upsert and reject reports."""

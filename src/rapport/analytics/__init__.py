"""Analytics in Ibis: metric expressions that run on DuckDB, PostgreSQL or Spark.

Only :mod:`rapport.analytics.connect` names a backend; everything else builds engine-blind
Ibis expressions over :class:`rapport.analytics.sources.Sources`.
"""

"""The product functions the adapters share: the reports a user reaches from the CLI, the
API and the web workspace, each defined once, taking the caller's
:class:`~rapport.access.CustomerScope` (``None``: every customer) and returning plain data.

* :mod:`rapport.reports.snapshots` — the reports on the stored score snapshots (group
  summaries, movements, diamonds, churn warnings, top CLV, one customer's scores); how they
  run, inside and outside the server, is said there;
* :mod:`rapport.reports.tiers` — why a customer is in their value tier;
* :mod:`rapport.reports.groups` — grouping customers by an attribute for the metrics;
* :mod:`rapport.reports.service_queue` — the open tickets with their SLA clocks, one ticket
  with its history, and who may move or assign a ticket;
* :mod:`rapport.reports.worklist` — a salesperson's birthdays of the week and customers not
  contacted for N days, and a scope narrowed to one owner;
* :mod:`rapport.reports.movers` — who entered or left a value tier between two snapshots,
  and why;
* :mod:`rapport.reports.monthly` — the monthly management report 月度客户关系报告 (a month
  against the period before), rendered as HTML, PDF or XLSX by
  :mod:`rapport.reports.monthly_render`.

The analyses over a period (cohorts, funnel, demand forecast) are :mod:`rapport.analyses`.
"""

"""Cohort-scale outcome computations in set-based SQL (SQLAlchemy Core; SQLite and PostgreSQL).

The SQL sums materialised diary days (table ``day_units``) into 28-day windows per patient in one
grouped scan; what the sums mean (rates, change, responders, intervals) is decided by the pure
:mod:`acuhead.domain.outcomes`. The per-patient outcome and the clinic report run the same
queries, the former filtered to one patient (:class:`acuhead.analytics.cohort.Scope`).
"""

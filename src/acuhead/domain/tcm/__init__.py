"""Traditional Chinese medicine knowledge used for headache care: points, channels, patterns.

Everything here is pure (no I/O beyond reading the shipped data files) so the prescription rules
can be tested on their own. The point catalogue is data (``data/points.csv``) rather than code so
that a clinician can review every location, depth and caution in one table (CLINICAL.md 7).
"""

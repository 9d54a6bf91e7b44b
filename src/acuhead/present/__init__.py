"""Presentation: number and interval formatting, labels and SVG charts, shared by the web
pages (``web/``) and the documents (``reports/``). Pure functions of values and typed results;
no I/O, no clock, no imports from ``web``."""

"""Formats that carry a diary in and out: the acuhead diary document, CSV, FHIR R4."""

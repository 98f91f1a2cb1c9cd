"""Test helpers shared by tests/ and benchmarks/: the local Airtable look-alike and the
AppTest drivers. Never imported by the application (``carto/``, ``pages/``, ``app.py``)."""

"""`make bench`: sync cost and dashboard speed, side by side with the naive approach.

``python -m benchmarks.run`` (see ``run.py``) builds demo-like bases, serves them from the
local Airtable look-alike (``testing/fake_airtable.py``) with a realistic latency and
Airtable's rate limit, and measures the sync, normalisation, every page under AppTest and
the map payload. Nothing here is imported by the application.
"""

"""Exports for staff and advocacy (issue 7): the six datasets, written as CSV, XLSX,
GeoJSON or KML, and the printable advocacy summary.

- ``datasets``: the export frames of a (privacy-applied) dataset, filters and period;
- ``formats``: the writers (frames to bytes), safe against formula injection;
- ``names``: file names and the description of the filters (audit, summary);
- ``files``: the files of one export, rendered on demand, and their audit entries;
- ``summary``: the one-page advocacy summary (HTML that prints to PDF).

Plain Python: no Streamlit here.
"""

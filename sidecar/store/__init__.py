"""The media store: metadata in SQLite (db.py) behind the records' read API (catalog.py),
bytes as content-addressed blob files (blobs.py) read from their sources (sources.py), held
bytes of unsaved items (holding.py), the fallback journal (journal.py), errno classification
(classify.py), the OS seam with its test faults (osio.py), listing and cursors (query.py),
start-up recovery (recovery.py) and the save pipeline that joins them (store.py).
"""

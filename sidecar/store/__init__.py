"""The media store: metadata in SQLite (db.py), bytes as content-addressed blob files
(blobs.py), held bytes of unsaved items (holding.py), the fallback journal (journal.py),
errno classification (classify.py), the OS seam with its test faults (osio.py), listing and
cursors (query.py), and the save pipeline with start-up recovery that joins them (store.py).
"""

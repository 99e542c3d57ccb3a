"""Console rendering shared by the CLI and the demo: tables, item lines, progress."""

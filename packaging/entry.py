"""The frozen binary's entry point: ``media-sidecar`` with every sub-command."""

import sys

from sidecar.cli.main import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m sidecar`` is ``media-sidecar``."""

import sys

from sidecar.cli.main import main

sys.exit(main())

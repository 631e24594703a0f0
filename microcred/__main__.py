"""``python -m microcred``: the same command as ``microcred`` (how ``microcred dev`` starts its children)."""

import sys

from microcred.cli import main

sys.exit(main())

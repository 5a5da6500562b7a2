"""The scale-out load and fault suite: ``uv run python bench/scale.py [--quick] [--pg-restart]``.

See :mod:`ai_cs.bench.scale` for what it runs and counts; the exit code is 1 when anything was
lost or doubled.
"""

from __future__ import annotations

import sys

from ai_cs.bench.scale import main

if __name__ == "__main__":
    sys.exit(main())

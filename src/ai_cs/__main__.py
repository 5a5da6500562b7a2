"""``python -m ai_cs`` is the same as ``aics``."""

from ai_cs.cli import main

main()

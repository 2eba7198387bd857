"""``python -m hybrid.cli``: the ``hybrid`` command (detached submissions start it this way)."""

from hybrid.cli import main

main()

"""``python -m pathgptomic`` = the ``pathgptomic`` command."""

from pathgptomic.cli import main

raise SystemExit(main())

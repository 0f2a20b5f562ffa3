"""``python -m pathgptomic.jobs`` = the job store's command line (:mod:`pathgptomic.jobs.cli`)."""

from pathgptomic.jobs.cli import main

raise SystemExit(main())

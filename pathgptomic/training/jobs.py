"""Former home of the job store, now the package :mod:`pathgptomic.jobs`; re-exports its public names
for importers not yet moved (``from pathgptomic.training import jobs as J``)."""

from pathgptomic.jobs import *  # noqa: F401,F403
from pathgptomic.jobs import __all__  # noqa: F401

"""The job store's command line: ``python -m pathgptomic.jobs list | start-queued | cancel JOB_ID``.

The supervisor uses ``start-queued`` to hand a freed slot on to the next queued job.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from pathgptomic.jobs.job import clean_job_name
from pathgptomic.jobs.store import JobStore


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job command line on ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m pathgptomic.jobs", description="Inspect the Path-GPTomic job store.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    lst = sub.add_parser("list", help="list jobs (newest first)")
    lst.add_argument("--data-dir", type=Path, default=None)
    sq = sub.add_parser("start-queued", help="start queued jobs while a slot is free")
    sq.add_argument("--data-dir", type=Path, default=None)
    sq.add_argument("--max-concurrent", type=int, default=None)
    cancel = sub.add_parser("cancel", help="cancel a job")
    cancel.add_argument("job_id")
    cancel.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.cmd == "start-queued":
        JobStore(args.data_dir, max_concurrent=args.max_concurrent).start_queued()
        return 0
    if args.cmd == "cancel":
        print(JobStore(args.data_dir).cancel(args.job_id).state)
        return 0
    for job in JobStore(args.data_dir).list():  # names from older databases may hold control characters
        print(f"{job.id}  {job.state:9s}  {clean_job_name(job.name)}")
    return 0

"""Runners execute claimed jobs by calling :func:`dockyard.jobs.run.run_job` in a child process.

Every runner keeps the same contract: the job database is the only source of truth, a job's
process can be killed at any time (cancel, time limit, crash) and the job is then failed,
cancelled or queued again — never lost and never completed twice. Both runners supervise that
process the one way, :mod:`dockyard.runners.supervise`; the science stack loads only inside it.
What a request asks of chemistry (pre-flight, depictions, interactions) runs the same way, in
the bounded worker processes of :mod:`dockyard.runners.chemistry`.
"""

from dockyard.runners.base import RegisteredWorker, Runner
from dockyard.runners.local import LocalRunner

__all__ = ["LocalRunner", "RegisteredWorker", "Runner"]

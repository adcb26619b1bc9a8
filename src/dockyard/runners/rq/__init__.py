"""The RQ runner: the API puts job ids on a Redis queue and ``dockyard worker`` processes run them.

One module per concept, each importing only those listed below it:

- :mod:`~dockyard.runners.rq.worker`: the ``dockyard worker`` process (RQ's loop, a reconciler)
- :mod:`~dockyard.runners.rq.api`: :class:`RQRunner`, the API's side (enqueue on submit)
- :mod:`~dockyard.runners.rq.horse`: what a work-horse runs (claim, supervise, RQ callbacks)
- :mod:`~dockyard.runners.rq.reconcile`: make the queue agree with the database, the truth
- :mod:`~dockyard.runners.rq.queue`: RQ job ids, Redis connections, the queue of job ids
"""

"""The class atlas: one picture per ImageNet class, rendered on a Dask cluster,
and a browsable page of them all.

* :mod:`.plan`    -- the job (a frozen value), which classes, the manifest and
  what a re-run may skip;
* :mod:`.tasks`   -- the worker side: one task renders one class (or a batch
  of classes on the torch backend) and writes its picture and record
  atomically; each worker process compiles its dreamer once per job;
* :mod:`.cluster` -- Dask set-up (a local cluster, or an existing scheduler)
  and the driver loop that only collects records;
* :mod:`.page`    -- the HTML: a searchable grid, one page per class;
* :mod:`.scripts` -- any list of scripts run as one task each (``make figures``).

``python -m reproduce atlas`` is the command (reproduce/commands/atlas.py).
"""

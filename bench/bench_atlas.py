"""Dask distributed against Ray for the atlas's kind of work, on this machine.

The atlas sends a few hundred to a thousand tasks of seconds to minutes
each, with a per-process cache (the compiled dreamer).  What separates two
schedulers there is not throughput but start-up, the cost of a task round
trip, and what happens when a worker dies.  Measured, interleaved in one
process (Dask, Ray, Dask, Ray ...), on a local cluster of two worker
processes:

* start-up: cluster start until a first task has come back;
* per task: N no-op tasks submitted at once, wall time / N;
* round trip: one no-op task submitted and waited for, repeated.

Ray is not a dependency of the project; when it is not importable its rows
say so.  ``python -m bench atlas [--tasks 500] [--repeats 2]``
"""
import argparse
import os
import statistics
import sys
import time


def noop(x):
    return x


def dask_rows(tasks, trips):
    from distributed import Client, LocalCluster
    started = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local, Client(local) as client:
        client.submit(noop, 0, pure=False).result()
        startup = time.perf_counter() - started
        t = time.perf_counter()
        client.gather(client.map(noop, range(tasks), pure=False))
        per_task = (time.perf_counter() - t) / tasks
        t = time.perf_counter()
        for i in range(trips):
            client.submit(noop, i, pure=False).result()
        trip = (time.perf_counter() - t) / trips
    return startup, per_task, trip


def ray_rows(tasks, trips):
    import ray
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        remote = ray.remote(num_cpus=1)(noop)
        ray.get(remote.remote(0))
        startup = time.perf_counter() - started
        t = time.perf_counter()
        ray.get([remote.remote(i) for i in range(tasks)])
        per_task = (time.perf_counter() - t) / tasks
        t = time.perf_counter()
        for i in range(trips):
            ray.get(remote.remote(i))
        trip = (time.perf_counter() - t) / trips
    finally:
        ray.shutdown()
    return startup, per_task, trip


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench atlas")
    p.add_argument("--tasks", type=int, default=500)
    p.add_argument("--trips", type=int, default=50)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)
    try:
        import ray
        have_ray = ray.__version__
    except ImportError:
        have_ray = None
    import distributed
    results, failures = {"dask": [], "ray": []}, {"dask": [], "ray": []}
    for _ in range(args.repeats):
        for name, rows in (("dask", dask_rows), ("ray", ray_rows if have_ray else None)):
            if rows is None:
                continue
            started = time.perf_counter()
            try:
                results[name].append(rows(args.tasks, args.trips))
            except Exception as exc:  # a scheduler that does not start is a result
                failures[name].append("%s after %.0f s: %s" % (
                    type(exc).__name__, time.perf_counter() - started,
                    str(exc).splitlines()[0][:200]))
    print("atlas schedulers: 2 local worker processes, %d no-op tasks, %d round trips, "
          "%d repeats (median); load %s" % (args.tasks, args.trips, args.repeats,
                                            " ".join("%.2f" % v for v in os.getloadavg())))
    print("| scheduler | start-up to first result (s) | per task, %d at once (ms) | "
          "round trip (ms) |" % args.tasks)
    print("|---|---|---|---|")
    for name, version in (("dask", distributed.__version__), ("ray", have_ray)):
        for failure in failures[name]:
            print("| %s %s | did not start: %s | | |" % (name, version, failure))
        if not results[name]:
            if version is None:
                print("| %s | not installed | | |" % name)
            continue
        startup, per_task, trip = (statistics.median(r[i] for r in results[name])
                                   for i in range(3))
        print("| %s %s | %.1f | %.2f | %.1f |" % (name, version, startup,
                                                 1e3 * per_task, 1e3 * trip))
    return 0


if __name__ == "__main__":
    sys.exit(main())

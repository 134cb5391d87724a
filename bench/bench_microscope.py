"""The microscope's cost per unit on this machine, in one process (no Dask):
for each chosen layer, the compile once per layer and worker, then each
unit's seconds split by picture (positive, negative, diverse, DeepDream),
the disk its pictures and record take, and the process's peak memory.

``python -m bench microscope [--weights W] [--layers relu1_1,relu3_3,relu5_3]
[--channels 2] [--size 128] [--steps 256] [--diverse 3]``

docs/microscope.md turns these into units per hour and the projections.
"""
import argparse
import os
import resource
import tempfile
import time


def main(argv=None):
    from reproduce import paths
    p = argparse.ArgumentParser(prog="python -m bench microscope")
    p.add_argument("--weights", default=paths.EMBEDDED_VGG16_CONV)
    p.add_argument("--layers", default="relu1_1,relu3_3,relu5_3")
    p.add_argument("--channels", type=int, default=2)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=256)
    p.add_argument("--diverse", type=int, default=3)
    p.add_argument("--batch", type=int, default=1)
    args = p.parse_args(argv)

    from reproduce.job import PictureJob
    from reproduce.microscope import plan, tasks
    picture = PictureJob(weights=args.weights, recipe="fourier",
                         overrides=(("image_size", (args.size, args.size)),
                                    ("steps", args.steps)))
    job, _ = plan.make_job(picture, diverse=args.diverse, batch=args.batch)
    out = tempfile.mkdtemp(prefix="bench-microscope-")
    digest = job.digest()
    print("microscope bench: %s, %dx%d, %d steps, %d diverse, batch %d; DeepDream %d "
          "octaves of %d steps on a %d px photo" % (
              os.path.basename(args.weights), args.size, args.size, args.steps,
              args.diverse, args.batch, job.dream.octaves, job.dream.steps,
              job.photo_side))
    started = time.time()
    tasks.built(job)
    print("  load the model and the photo: %.1f s" % (time.time() - started))
    for layer in args.layers.split(","):
        t = time.time()
        state, _ = tasks.built(job)
        state.layer(job, layer)
        compile_seconds = time.time() - t
        items = [(layer, c) for c in range(args.channels)]
        t = time.time()
        records = tasks.render(job, items, out, digest)
        seconds = (time.time() - t) / len(items)
        parts = {}
        for r in records:
            for picture_ in r["pictures"]:
                parts[picture_["kind"]] = parts.get(picture_["kind"], 0) + picture_["seconds"]
        disk = sum(os.path.getsize(os.path.join(out, f)) for r in records for f in r["files"])
        disk += sum(os.path.getsize(os.path.join(out, plan.record_file(*i))) for i in items)
        print("  %-12s compile %5.1f s; per unit %6.1f s (%s); disk %.0f KB per unit"
              % (layer, compile_seconds, seconds,
                 ", ".join("%s %.1f" % (k, v / len(items)) for k, v in parts.items()),
                 disk / 1024.0 / len(items)))
    print("  peak memory of the process: %.0f MB"
          % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))

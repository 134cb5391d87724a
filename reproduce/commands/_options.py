"""Argument groups and parsers that several commands share (not a command).

Strings become values here, once: ``--set name=value`` becomes typed
(name, value) pairs, ``--size WxH`` a (width, height) tuple, and the
options of ``dream``, ``serve`` and ``stream`` one job
(:mod:`reproduce.job`).
"""
import argparse

from .. import paths
from ..checks import Rule
from ..errors import UserError

RAW = argparse.RawDescriptionHelpFormatter


# ---------------------------------------------------------------- parsers

def typed(rule):
    """An argparse ``type`` from a :class:`reproduce.checks.Rule`: read the
    text, then check the value, so a bad number is refused before anything runs."""
    def parse(text):
        try:
            value = rule.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError("cannot read %r as %s" % (
                text[:40], "a whole number" if rule.kind is int else "a number"))
        problem = rule.problem(value)
        if problem:
            raise argparse.ArgumentTypeError("%s: %s" % (text[:40], problem))
        return value
    parse.__name__ = rule.kind.__name__
    return parse


def seed_type():
    from ..checks import SEED
    return typed(SEED)


def parse_size(text, option="--size", side=False, least=1, most=None):
    """"WxH" -> (W, H); with ``side``, also "N" -> N (the longer side, which
    the library fits to the image: deepdream.inputs.fit_size).  UserError
    naming ``option`` otherwise."""
    try:
        if side and "x" not in text.lower():
            n = int(text)
            width = height = n
        else:
            n = None
            width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError("%s %s: expected WIDTHxHEIGHT in pixels (e.g. 320x256)%s"
                        % (option, text, " or one number for the longer side"
                           if side else ""))
    if width < least or height < least or (most and max(width, height) > most):
        raise UserError("%s %s: width and height must be %d to %s pixels"
                        % (option, text, least, most or "any number of"))
    return (width, height) if n is None else n


def parse_memory(text):
    """--max-memory "4G" -> bytes, or None for None."""
    from ..nets.memory import parse_bytes
    return parse_bytes(text) if text else None


def parse_sets(settings, texts):
    """``--set name=value`` texts -> ((name, value), ...) typed like the fields
    of ``settings`` (a profile: tuples as 1,2,3 or WxH, "none" as None)."""
    known = settings.settings()
    pairs = []
    for item in texts:
        key, _, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if key not in known or key == "name":
            raise UserError("--set %s: no such setting; settings: %s"
                            % (item, ", ".join(sorted(known))))
        pairs.append((key, _typed(key, text, known[key])))
    return tuple(pairs)


def _typed(key, text, current):
    """``text`` read like the current value of ``key``."""
    try:
        if text.lower() == "none":
            return None
        if isinstance(current, tuple):
            kind = type(current[0]) if current else float
            return tuple(kind(v) for v in text.replace("x", ",").split(",") if v)
        if current is None:
            return int(text)
        return type(current)(text)
    except ValueError:
        raise UserError("--set %s=%s: cannot read %r as %s"
                        % (key, text, text, type(current).__name__))


def from_library(check):
    """An argparse ``type`` from a library check that raises UserError."""
    def parse(text):
        try:
            return check(text)
        except UserError as exc:
            raise argparse.ArgumentTypeError(str(exc))
    parse.__name__ = check.__name__
    return parse


def add_cluster_arguments(p):
    """--scheduler and --workers: ``atlas`` and ``run-scripts``, checked as
    they are read (a bad address or -1 workers: one line, before any work)."""
    from ..atlas.cluster import MAX_WORKERS, scheduler_address
    p.add_argument("--scheduler", type=from_library(scheduler_address), default=None,
                   metavar="tcp://HOST:PORT",
                   help="an existing Dask scheduler (default, or 'local': a local "
                        "cluster, one worker process per core)")
    p.add_argument("--workers", type=typed(Rule(int, low=1, high=MAX_WORKERS)),
                   default=None, help="worker processes of the local cluster "
                                      "(default: one per core)")


def cluster_run_status(result, out_dir, rendered, rate, failed):
    """Print a finished atlas or microscope run (``result.timing()``: its
    rate under ``rate`` = (key, words)) and return its exit status: 130 if
    Ctrl-C ended it, 1 if some ``failed`` items failed twice, else 0."""
    import os
    import sys
    t = result.timing()
    key, words = rate
    print("%s: %d rendered%s in %.0f s (%.0f %s), %d skipped (already done), %d failed%s"
          % (os.path.join(out_dir, "index.html"), t["rendered"], rendered, t["seconds"],
             t[key], words, t["skipped"], t["failed"],
             "; interrupted: kept what was made" if result.interrupted else ""))
    if result.failed:
        print("error: %d %s failed twice; their errors are in %s" % (
            result.failed, failed, os.path.join(out_dir, "manifest.json")), file=sys.stderr)
    return 130 if result.interrupted else (1 if result.failed else 0)


def shell_words(text):
    """--args "a 'b c'" -> ["a", "b c"], split like a shell; an unclosed quote
    is refused as the option is read."""
    import shlex
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("%s (in %r); close the quote" % (exc, text[:80]))


# ---------------------------------------------------------------- the job options

def add_prior_arguments(p):
    """--prior and --prior-dir, as every command that runs the 2015 recipe takes them."""
    p.add_argument("--prior", default=None,
                   help="prior HDF5 file (default %s), 'lsd2015' for the 2015 files, "
                        "or 'none'" % paths.shown(paths.PRIOR))
    p.add_argument("--prior-dir", default=None,
                   help="folder holding the 2015 prior .npy files and start "
                        "images (default %s)" % paths.shown(paths.LSD2015_DIR))


RECIPE_HELP = ("lsd2015: pixels, patch prior, the 2015 update rule, zoom; fourier: "
               "decorrelated Fourier image, random transforms, Adam; fourier-zoom: "
               "fourier with the 2015 zoom (docs/recipes.md). Default: %s")


def add_job_arguments(p, weights, profile, what="class to dream",
                      recipe_default="lsd2015"):
    """The options ``dream``, ``serve`` and ``stream`` share: what to dream
    and how (one argument group, read by :func:`picture_job`).
    ``recipe_default`` is what the help says runs without --recipe."""
    g = p.add_argument_group("what to dream, and how")
    g.add_argument("--weights", default=weights,
                   help="our HDF5 classifier (default %s)" % paths.shown(weights))
    g.add_argument("--classes", action="append", default=[], metavar="NAME",
                   help="%s (give twice: the first goes to the lower half of the "
                        "image, the second to the upper half)" % what)
    g.add_argument("--recipe", default="lsd2015", help=RECIPE_HELP % recipe_default)
    g.add_argument("--profile", default=profile,
                   help="stream2015 or image2015 (default %(default)s); the 2015 "
                        "settings of --recipe lsd2015 (fourier has its own)")
    g.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a setting, e.g. --set learning_rate=2 "
                        "--set image_size=448x448 (see docs)")
    add_prior_arguments(g)
    g.add_argument("--start", default=None,
                   help="start image (default: the profile's 2015 start image "
                        "if found, else seeded grey noise)")
    g.add_argument("--seed", type=seed_type(), default=0)
    add_backend_argument(g)
    return g


def add_backend_argument(p):
    """--backend: the Theano reference or the PyTorch port."""
    p.add_argument("--backend", choices=("theano", "torch"), default="theano",
                   help="theano: the reference (default); torch: the PyTorch port, "
                        "on CUDA when available (needs requirements-torch.txt)")


def add_dream_arguments(p):
    """``dream``'s options (the figure scripts take the same)."""
    add_job_arguments(p, paths.VGG16, "image2015")
    p.add_argument("--steps", type=int, help="shortcut for --set steps=N")
    p.add_argument("--overlay", action="store_true",
                   help="write the class names on the picture, as the stream did")
    p.add_argument("--no-progress", action="store_true")


def add_stream_arguments(p):
    """``serve``'s and ``stream``'s options: the job's, plus sizes and hold."""
    from ..job import StreamJob
    add_job_arguments(p, paths.EMBEDDED_CLASSIFIER, "stream2015",
                      "what to dream of first; default: a class drawn with --seed, "
                      "as 2015 drew one at random",
                      "lsd2015 on a VGG, fourier-zoom on any other classifier "
                      "(the embedded EfficientNet-Lite0)")
    p.add_argument("--size", default="%dx%d" % StreamJob.size, metavar="WxH",
                   help="size of the optimised image (default %(default)s; the "
                        "2015 stream optimised 840x472 on a GPU)")
    p.add_argument("--stream-size", default=None, metavar="WxH",
                   help="size of the stream frames (default: --size; 2015: 1024x576)")
    p.add_argument("--hold", type=typed(Rule(float, above=0, high=86400)), default=None,
                   metavar="SECONDS",
                   help="how long each request holds before the next one "
                        "(serve: default 60, the 2015 hold_subject_seconds)")
    # The stream's recipe follows the classifier unless named (stream_job).
    p.set_defaults(recipe=None)


def picture_job(args, kind=None, stream=False, **fields):
    """The job the options describe (a :class:`~reproduce.job.PictureJob`, or
    ``kind`` with ``fields``); ``--set`` typed against the recipe's settings."""
    from ..job import PictureJob
    from ..recipes import base_settings
    if len(args.classes) > 2:
        raise UserError("--classes given %d times: at most 2 (the lower half, then "
                        "the upper half)" % len(args.classes))
    overrides = parse_sets(base_settings(args.recipe, args.profile, stream), args.set)
    if getattr(args, "steps", None) is not None:  # --steps 0 is refused, not ignored
        overrides += (("steps", args.steps),)
    return (kind or PictureJob)(
        weights=args.weights, classes=tuple(args.classes), recipe=args.recipe,
        profile=args.profile, overrides=overrides, prior=args.prior,
        prior_dir=args.prior_dir, start=args.start, seed=args.seed,
        backend=args.backend, overlay=getattr(args, "overlay", False), **fields)


def stream_job(args):
    """``serve``'s and ``stream``'s options -> :class:`~reproduce.job.StreamJob`."""
    from ..job import StreamJob
    from ..recipes import stream_recipe_for
    if args.recipe is None:  # lsd2015 on a VGG, fourier-zoom on other classifiers
        args.recipe = stream_recipe_for(args.weights)
    size = parse_size(args.size, least=8, most=4096)
    stream_size = parse_size(args.stream_size, "--stream-size", least=8, most=4096) \
        if args.stream_size else None
    return picture_job(args, StreamJob, stream=True, size=size, stream_size=stream_size,
                       hold=args.hold)


# ---------------------------------------------------------------- DeepDream's options

def add_input_arguments(p, weights, size=None):
    """Weights, image size and memory limit: shared by deepdream, sweep, class-model."""
    p.add_argument("--weights", default=weights,
                   help="our HDF5 weights (default %s)" % paths.shown(weights))
    p.add_argument("--size", default=size, metavar="WxH|N",
                   help="resize the image first: WxH, or N for its longer side "
                        "(default: %s)" % (size or "its own size"))
    p.add_argument("--max-memory", default=None, metavar="BYTES",
                   help="refuse images whose estimated forward+backward memory "
                        "exceeds this (e.g. 4G; default: the memory available)")
    from ..nets.weights import TIE_CHOICES
    p.add_argument("--pool-ties", choices=TIE_CHOICES, default="model",
                   help="where a max-pool's gradient goes when its window holds the max "
                        "more than once: model (default): to Caffe's one argmax on nets "
                        "converted from Caffe, to every tied pixel on the others; "
                        "argmax or every: that rule for every max-pool")
    p.add_argument("--no-progress", action="store_true")


def add_objective_arguments(p, layer="conv4_3"):
    """What DeepDream enhances: --layer, --channel, --guide, --pre-relu."""
    p.add_argument("--layer", default=layer, help="layer to enhance "
                   "(default %(default)s; a wrong name lists the valid ones)")
    p.add_argument("--channel", type=int, default=None,
                   help="enhance this channel of the layer only")
    p.add_argument("--guide", default=None, metavar="IMAGE",
                   help="guided dreaming: match the features of this image")
    p.add_argument("--pre-relu", action="store_true",
                   help="take a conv layer's output before its ReLU")


def add_settings_arguments(p, defaults=None):
    """DeepDream's numeric settings, defaulting to ``defaults`` (a DreamSettings)."""
    from ..deepdream.settings import OCTAVE_EDGES, DreamSettings
    d = defaults or DreamSettings()
    p.add_argument("--octaves", type=int, default=d.octaves,
                   help="pyramid levels (default %(default)s)")
    p.add_argument("--octave-scale", type=float, default=d.octave_scale,
                   help="size ratio between octaves (default %(default)s)")
    p.add_argument("--steps", type=int, default=d.steps,
                   help="gradient steps per octave (default %(default)s)")
    p.add_argument("--step-size", type=float, default=d.step_size,
                   help="step in pixels relative to mean |gradient| (default %(default)s)")
    p.add_argument("--jitter", type=int, default=d.jitter,
                   help="largest random roll in pixels (default %(default)s)")
    p.add_argument("--seed", type=seed_type(), default=d.seed, help="of the jitter")
    p.add_argument("--octave-edge", choices=OCTAVE_EDGES, default=d.octave_edge,
                   help="nearest: an octave's resize repeats the edge pixels (default); "
                        "notebook: as dream.ipynb's nd.zoom (mode constant), whose last "
                        "row or column turns the mean colour at some sizes")


def add_engine_arguments(p):
    """--backend and --precision of deepdream, sweep and video."""
    add_backend_argument(p)
    p.add_argument("--precision", default="float32",
                   help="the net's number format on --backend torch: float32 "
                        "(default), bf16 (bfloat16 products, float32 sums, where the "
                        "CPU has AMX or AVX-512 BF16), auto (bf16 where it can); "
                        "docs/precision.md")


def dream_net(args, settings, model):
    """The net of deepdream, sweep and video: ``model`` on ``args.backend`` in
    the precision of ``settings`` (a checked DreamSettings)."""
    from ..recipes import build_backend_net
    return build_backend_net(model, args.backend, precision=settings.precision,
                             pool_ties=args.pool_ties)


def dream_settings(args):
    """The DreamSettings the options of :func:`add_settings_arguments` (and
    :func:`add_engine_arguments`, where a command has them) give."""
    from ..deepdream.settings import DreamSettings
    from ..recipes import check_precision
    settings = DreamSettings(octaves=args.octaves, octave_scale=args.octave_scale,
                             steps=args.steps, step_size=args.step_size,
                             jitter=args.jitter, seed=args.seed,
                             octave_edge=args.octave_edge,
                             precision=getattr(args, "precision", "float32"))
    settings.check()
    check_precision(getattr(args, "backend", "theano"), settings.precision)
    return settings


def photo_size(args):
    """--size of deepdream, sweep and class-model: (W, H), N (longer side) or None."""
    return parse_size(args.size, side=True) if args.size else None

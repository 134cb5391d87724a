"""From command-line options to a finished picture: the glue the CLI and the
figure scripts share (weights, profile, prior, start image, progress, Ctrl-C)."""
import dataclasses
import os
import time

import numpy as np

from .errors import UserError
from .lsd2015.profiles import get_profile

from .paths import LSD2015_DIR, PRIOR as DEFAULT_PRIOR


@dataclasses.dataclass
class DreamResult:
    image: np.ndarray            # (H, W, 3) float32, 0..255
    steps: int                   # steps actually taken
    seconds: float
    interrupted: bool
    history: list                # (loss, objective, prior energy) per step
    profile: object = None
    classes: tuple = ()


def profile_from(args):
    overrides = list(args.set) + (["steps=%d" % args.steps] if args.steps else [])
    return get_profile(args.profile, overrides)


def load_prior_option(spec, prior_dir=None, kind="student"):
    """``--prior``: None (our default file), 'lsd2015', 'none', or a path."""
    if spec == "none":
        return None
    from .prior.fit import load_lsd2015, load_prior
    if spec == "lsd2015":
        return load_lsd2015(prior_dir or LSD2015_DIR, kind)
    path = spec or DEFAULT_PRIOR
    if spec is None and not os.path.exists(path):
        raise UserError("%s: no fitted prior yet; run `make prior` (or pass "
                        "--prior lsd2015 --prior-dir PATH, or --prior none)" % path)
    return load_prior(path)


def start_image(profile, start=None, prior_dir=None, seed=0, explicit_size=False):
    """The image the optimisation starts from, and the profile with its size.

    Like the 2015 code, the start image sets the optimised size, unless the
    user set ``image_size`` explicitly.  Without a start image we use the
    2015 one when ``prior_dir`` has it, else seeded grey noise.
    """
    from .fileio import load_image
    path = start or os.path.join(prior_dir or LSD2015_DIR, profile.start_image)
    size = profile.image_size if explicit_size else None
    if start or os.path.exists(path):
        image = load_image(path, size)
        return image, dataclasses.replace(profile, image_size=image.shape[1::-1])
    width, height = profile.image_size
    rng = np.random.RandomState(seed)
    return (128 + 8 * rng.randn(height, width, 3)).astype(np.float32), profile


_DREAMERS = {}


def backend_classes(name):
    """(Dreamer, build_net) of the "theano" reference or the "torch" port."""
    if name != "torch":
        from .nets.build import build_net
        from .lsd2015.dreamer import Dreamer
        return Dreamer, build_net
    try:
        from reproduce_torch import Dreamer, build_net
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        raise UserError("--backend torch needs PyTorch, which is not installed; run "
                        "`make setup` or `pip install -r requirements-torch.txt`")
    return Dreamer, build_net


def dream_picture(args, model=None):
    """Run the optimisation of ``args.recipe`` (default lsd2015, the 2015 one)
    as ``args`` says; Ctrl-C keeps the current image."""
    from tqdm import tqdm

    from .nets.classes import find_class
    from .recipes import get_recipe
    from .nets.weights import load_model

    recipe = get_recipe(getattr(args, "recipe", "lsd2015"))
    profile = recipe.profile(args)
    model = model or load_model(args.weights)
    profile = profile.for_model(model)
    if not model.has_classes:
        raise UserError("%s has no classes (a feature extractor); class pictures "
                        "need a classifier such as weights/vgg16.h5" % args.weights)
    classes = [find_class(name, model.descriptions) for name in args.classes[:2]]
    image, profile = recipe.start(args, profile)
    backend = getattr(args, "backend", "theano")
    key = (os.path.abspath(args.weights), profile, args.prior, args.prior_dir, backend,
           recipe.name)
    if key not in _DREAMERS:  # a compile takes seconds: reuse it within a process
        _DREAMERS.clear()
        _DREAMERS[key] = recipe.build(args, model, profile, backend)
    dreamer = _DREAMERS[key]
    recipe.begin(dreamer, image, args.seed)
    dreamer.set_classes(*classes)

    history, started, interrupted = [], time.time(), False
    bar = tqdm(total=profile.steps, disable=args.no_progress, unit="step",
               desc=" + ".join(model.descriptions[c].split(",")[0] for c in classes))
    try:
        for i, loss, score, energy in dreamer.run():
            history.append((loss, score, energy))
            bar.set_postfix(loss="%.3f" % loss, prior="%.4f" % energy, refresh=False)
            bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    image = dreamer.get_image()
    if getattr(args, "overlay", False):
        from .lsd2015.frames import overlay_text
        image = overlay_text(image, " and ".join(
            model.descriptions[c].split(",")[0] for c in classes))
    return DreamResult(image, len(history), time.time() - started, interrupted,
                       history, profile, tuple(classes))

"""A stream job, checked and resolved before anything starts: the model's
classes, the stream's settings at its sizes, the start image, the first
request.  ``serve`` and ``stream`` both start from :func:`prepare`."""
import dataclasses
import os

import numpy as np

from .. import paths
from ..errors import UserError


@dataclasses.dataclass
class Setup:
    """Everything a stream needs, checked before anything starts."""
    job: object         # job.StreamJob
    descriptions: list
    profile: object     # the job's settings at its sizes, aimed at the model's logits
    image: object       # (H, W, 3) float32, 0..255, of profile.image_size
    parser: object      # requests.RequestParser
    start: object       # requests.Request


def prepare(job):
    """:class:`~reproduce.job.StreamJob` -> :class:`Setup`; every mistake is
    one UserError line, before the slow compile."""
    from .keyframes import stream_profile
    from .requests import RequestParser, request_for
    from ..nets.classes import find_class
    from ..prior.fit import load_prior_spec
    from ..recipes import check_job, job_settings, load_weights, start_image

    check_job(job)
    if job.weights == paths.EMBEDDED_CLASSIFIER and not os.path.exists(job.weights):
        raise UserError("%s: not found; make it with %s, or pass --weights"
                        % (job.weights, paths.how_to_make("embedded")))
    if len(job.classes) > 2:
        raise UserError("--classes given %d times; at most 2 (lower and upper half)"
                        % len(job.classes))
    model = load_weights(job.weights)
    model.require_classes("the stream", job.weights if isinstance(job.weights, str)
                          else None)
    profile = stream_profile(job_settings(job, model, stream=True), model, job.size,
                             job.stream_size)
    if not profile.steps_per_zoom or profile.fps < 1 or profile.frames_per_key < 1:
        raise UserError("a stream needs steps_per_zoom, fps and frames_per_key >= 1")
    descriptions = list(model.descriptions)
    del model  # the optimiser process loads its own copy
    classes = [find_class(str(name), descriptions) for name in job.classes]
    if not classes:
        classes = [int(np.random.RandomState(job.seed).randint(len(descriptions)))]
    recipe = check_job(job)
    if hasattr(recipe, "stream_start"):  # its own first image (fourier-zoom: the spectrum's)
        image = recipe.stream_start(job, profile)
    else:
        image, profile = start_image(profile, job.start, job.prior_dir, job.seed,
                                     explicit_size=True)
    if job.recipe == "lsd2015":
        load_prior_spec(job.prior, job.prior_dir)  # a bad prior fails here, not there
    return Setup(job, descriptions, profile, image, RequestParser(descriptions),
                 request_for(classes, descriptions))

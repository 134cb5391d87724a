"""Conformance: the modern ports, installed from the registry, run on our
reference inputs and weights, stage by stage (docs/conformance.md).

* ``ports``: the rows, with their pinned versions;
* ``envs``: the venvs they run in (built from requirements-conformance-*.txt);
* ``adapters/``: one script per port, run under the port's interpreter;
* ``run``: our side (what each stage is compared with) and the judging;
* ``stages``: the columns and the verdicts; ``table``: text, JSON, expectations.
"""
import os
import tempfile

from ..errors import UserError


def measure(weights=None, prior=None, reference=None, ports=None, build=(), progress=None,
            log=None):
    """The table for ``weights`` (default: ``model.vgg16_small``), the
    reference file ``reference`` (default: computed here by Theano) and
    ``prior`` (a prior file).  ``build``: env names to build when missing."""
    from .. import paths
    from ..nets.weights import load_model, save_model, sha256_of
    from ..prior.fit import load_prior
    from .. import reference as refs
    from . import envs, run
    from .model import vgg16_small
    from .ports import by_name

    prior = prior or paths.PRIOR
    if not os.path.isfile(prior):
        raise UserError("prior %s not found; make it with %s or give --prior"
                        % (prior, paths.how_to_make("prior")))
    for name in build:
        if not envs.ready(envs.ENVS[name]):
            envs.build(envs.ENVS[name])
    chosen = by_name(ports)
    with tempfile.TemporaryDirectory(prefix="conformance-") as folder:
        if weights is None:
            if reference is not None:
                raise UserError("--reference needs the --weights it was computed from")
            weights = os.path.join(folder, "vgg16_small.h5")
            save_model(vgg16_small(), weights)
        model = load_model(weights)
        if reference is None:
            if log:
                log("computing the reference vectors (Theano)")
            job = refs.reference_job(weights, prior)
            ref_arrays, attrs = refs.compute(job)
        else:
            ref_arrays, attrs = refs.load(reference)
            recorded = attrs.get("weights_sha256", "")
            if recorded and recorded != sha256_of(weights):
                raise UserError("%s was computed from other weights than %s (sha256 "
                                "differs); give the --weights it was made from"
                                % (reference, weights))
        return run.conformance(ref_arrays, attrs, model, load_prior(prior), chosen, progress)

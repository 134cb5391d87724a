"""A reference-vectors file of the tiny model, as the command writes it."""
import os

from reproduce import cli

SIZE = (96, 64)        # (W, H): a 10x18 logit map on the tiny net, prior scales 1, 4, 8
LAYER = "conv2_1"       # given to the command ...
DREAM_LAYER = "relu2_1"  # ... which takes a conv layer after its ReLU


def tiny_prior(seed=0):
    """A real (small) Student-t fit: 3000 photo patches, a few ECME iterations."""
    from reproduce.prior.fit import fit_student_t, prior_from_fit, sample_patches
    fit = fit_student_t(sample_patches(3000, seed), max_iter=30)
    return prior_from_fit(fit, source="test: 3000 patches", n_patches=3000, seed=seed)


def write_reference(weights, folder):
    """Run the command on the tiny model -> (reference path, prior path)."""
    from reproduce.prior.fit import save_prior
    prior_path, out = os.path.join(folder, "prior.h5"), os.path.join(folder, "ref.h5")
    save_prior(tiny_prior(), prior_path)
    assert cli.main(["reference-vectors", "--weights", weights, "--prior", prior_path,
                     "--out", out, "--size", "%dx%d" % SIZE, "--seed", "3",
                     "--layer", LAYER, "--no-progress"]) == 0
    return out, prior_path

"""Compare our fitted patch prior with the 2015 one; prints a Markdown table.

    .venv/bin/python experiments/compare_prior.py [LSD2015_FOLDER] [--prior P.h5]

LSD2015_FOLDER holds the 2015 .npy files (default ../shared/reference/lsd2015).
Without --prior, the default prior is fitted first (as `fit-prior` does).
Everything is scored on data the fit never saw: the held-out photo
(scikit-image's chelsea) and the two 2015 start images, if present.
"""
import argparse
import os
import sys
import time

import numpy as np
from scipy import ndimage, stats

from reproduce import paths
from reproduce.lsd2015.profiles import IMAGE2015, STREAM2015
from reproduce.prior import fit as P
from reproduce.fileio import load_image

N_PATCHES, SEED = 4000, 11
BLUR, NOISE = 1.5, 4.0


def heldout_sets():
    """Natural patches of the held-out photo and three distortions of them."""
    photo = P.load_photo(P.HELDOUT_PHOTOS[0])
    natural = P.sample_patches(N_PATCHES, SEED, [photo], dequantize=False)
    rng = np.random.RandomState(SEED + 1)
    blurred = P.sample_patches(N_PATCHES, SEED, [ndimage.gaussian_filter(
        photo, (BLUR, BLUR, 0))], dequantize=False)
    return {"natural (held-out photo)": natural,
            "natural + noise s=%g" % NOISE: natural + rng.normal(0, NOISE, natural.shape),
            "blur s=%g + noise s=%g" % (BLUR, NOISE):
                blurred + rng.normal(0, NOISE, natural.shape),
            "uniform noise": rng.uniform(0, 255, natural.shape)}


def auc(low, high):
    """P(a random `low` energy < a random `high` one): 1 = perfectly separated."""
    ranks = stats.rankdata(np.r_[low, high])
    return (ranks[len(low):].sum() - len(high) * (len(high) + 1) / 2) / (len(low) * len(high))


def overlap(a, b, k):
    """Mean squared cosine between the k largest-variance directions of two priors."""
    top = [p.directions()[np.argsort(p.variances())[::-1][:k]] for p in (a, b)]
    return np.sum((top[0] @ top[1].T) ** 2) / k


def row(name, *values, fmt="%.3f"):
    print("| %s | %s |" % (name, " | ".join(v if isinstance(v, str) else fmt % v
                                              for v in values)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("lsd2015", nargs="?", default=paths.LSD2015_DIR)
    parser.add_argument("--prior", help="our prior (.h5); default: fit it now")
    args = parser.parse_args(argv)

    ref = P.load_lsd2015(args.lsd2015, "student")
    if args.prior:
        ours = P.load_prior(args.prior)
    else:
        start = time.time()
        ours = P.fit_prior("student")
        print("fitted the default prior in %.1f s\n" % (time.time() - start))
    priors = {"ours": ours, "2015": ref}

    print("| | ours | 2015 |\n|---|---|---|")
    row("nu", ours.nu, ref.nu, fmt="%.4f")
    energies = {name: {k: P.patch_energy(x, p) for k, x in heldout_sets().items()}
                for name, p in priors.items()}
    for k in energies["ours"]:
        row("mean energy: " + k, energies["ours"][k].mean(), energies["2015"][k].mean())
    natural = "natural (held-out photo)"
    for k in list(energies["ours"])[1:]:
        row("AUC natural < " + k, *(auc(energies[n][natural], energies[n][k])
                                    for n in priors), fmt="%.4f")
        row("patches whose %s copy scores higher" % k,
            *(np.mean(energies[n][k] > energies[n][natural]) for n in priors), fmt="%.4f")
    for image, scales in (("image7.jpg", STREAM2015.prior_scales),
                          ("hd1.jpg", IMAGE2015.prior_scales)):
        path = os.path.join(args.lsd2015, image)
        if os.path.exists(path):
            picture = load_image(path)
            for name in ("", "noise"):
                if name:
                    picture = np.clip(picture + np.random.RandomState(0).normal(
                        0, NOISE, picture.shape), 0, 255)
                row("%s%s, scales %s: total energy" % (image, " + noise s=%g" % NOISE
                                                         if name else "",
                                                         ",".join(map(str, scales))),
                    *(P.prior_energy_numpy(picture, p, scales)[0] for p in priors.values()))

    print("\n| ours vs 2015 | value |\n|---|---|")
    row("Spearman correlation of per-patch energies (held-out natural)",
        stats.spearmanr(energies["ours"][natural], energies["2015"][natural])[0])
    row("Pearson correlation of per-patch energies (held-out natural)",
        np.corrcoef(energies["ours"][natural], energies["2015"][natural])[0, 1])
    lam = [np.sort(p.variances()) for p in priors.values()]
    row("correlation of log spectra (sorted component variances)",
        np.corrcoef(np.log(lam[0]), np.log(lam[1]))[0, 1])
    for q in (0, 96, 150, 191):
        row("component variance, rank %d of 192 (ours / 2015)" % q,
            "%.3g / %.3g" % (lam[0][q], lam[1][q]))
    for k in (1, 3, 10, 48, 96):
        row("overlap of the %d largest-variance directions" % k, overlap(ours, ref, k))
    flipped = P.Prior("student", ref.filters[::-1, ::-1].copy(), ref.mean, ref.nu)
    natural_patches = heldout_sets()[natural]
    row("2015 bank applied unflipped instead of flipped: mean abs energy change / mean energy",
        np.mean(np.abs(P.patch_energy(natural_patches, flipped)
                       - energies["2015"][natural])) / energies["2015"][natural].mean())


if __name__ == "__main__":
    main()

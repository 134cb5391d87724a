"""``fit-prior [--out P.h5]``: fit the patch prior on scikit-image's photos."""
from .. import paths
from ..checks import Rule
from ._options import seed_type, typed


def register(sub):
    p = sub.add_parser("fit-prior", help="fit the 8x8x3 patch prior (Student-t or "
                                         "Gaussian) on natural photos")
    p.add_argument("--out", default=paths.PRIOR, help="HDF5 file to write (default %s, "
                   "the prior the commands use)" % paths.shown(paths.PRIOR))
    p.add_argument("--kind", choices=("student", "gaussian"), default="student")
    p.add_argument("--patches", type=typed(Rule(int, low=1000, high=10 ** 8)), default=100000,
                   help="patches to sample (default 100000: the held-out likelihood "
                        "stops improving beyond ~50000)")
    p.add_argument("--seed", type=seed_type(), default=0)
    p.add_argument("--iterations", type=typed(Rule(int, low=1, high=10 ** 6)), default=200,
                   help="most EM iterations (it usually converges in under 10)")
    p.add_argument("--nu", type=float, default=None,
                   help="hold the Student-t degrees of freedom fixed (default: estimate)")
    p.set_defaults(func=run)


def run(args):
    from ..loop import progress_bar

    from ..fileio import check_output
    from ..prior.fit import check_patch_memory, fit_prior, save_prior

    check_output(args.out)
    check_patch_memory(args.patches)
    with progress_bar(desc="EM", unit="it", leave=False) as bar:
        def progress(iteration, log_likelihood, nu):
            bar.update(1)
            bar.set_postfix(loglik="%.3f" % log_likelihood, nu="%.4f" % nu)

        options = {} if args.kind == "gaussian" else dict(
            callback=progress, max_iter=args.iterations, nu=args.nu)
        prior = fit_prior(args.kind, args.patches, args.seed, **options)
    save_prior(prior, args.out)
    nu = "" if prior.nu is None else "nu = %.6f, " % prior.nu
    print("%s prior: %slog-likelihood %.3f nats per patch (%d patches, seed %d) -> %s"
          % (prior.kind, nu, prior.log_likelihood, prior.n_patches, prior.seed, args.out))

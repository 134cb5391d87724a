"""``make fuzz``: the larger bad-input run, beyond the test suite's table.

HDF5 mutants of our real files (single bytes flipped or zeroed, and
truncations) through their loaders, and the decompression bomb through
``classify``.  Every mutant must load (the byte was data, or harmless) or
be refused in one UserError line; nothing else may escape and nothing may
hang.  Prints the counts; exit status 1 if any mutant escaped.

    python tests/fuzz_large.py [--mutants 120] [--seed 0]
"""
import argparse
import collections
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import reproduce.backend  # noqa: E402,F401
from reproduce import paths  # noqa: E402
from reproduce.errors import UserError  # noqa: E402


def mutants(data, n, rng):
    """(label, bytes): n/3 bit flips, n/3 zeroed bytes in the first 8 KiB
    (the metadata of our files), n/3 anywhere; and 5 truncations."""
    for i in range(n):
        out = bytearray(data)
        where = int(rng.randint(0, min(len(data), 8192) if i < 2 * n // 3 else len(data)))
        if i % 3 == 1:
            out[where] = 0
        else:
            out[where] ^= 1 << int(rng.randint(8))
        yield "byte %d" % where, bytes(out)
    for fraction in (0.1, 0.3, 0.5, 0.9, 0.999):
        yield "cut at %.1f%%" % (100 * fraction), data[:int(len(data) * fraction)]


def run(path, load, n, rng, folder):
    counts, escaped, slowest = collections.Counter(), [], 0.0
    data = open(path, "rb").read()
    for label, blob in mutants(data, n, rng):
        mutant = os.path.join(folder, "mutant" + os.path.splitext(path)[1])
        with open(mutant, "wb") as f:
            f.write(blob)
        start = time.monotonic()
        try:
            load(mutant)
            counts["loaded"] += 1
        except UserError as exc:
            counts["refused, one line" if "\n" not in str(exc) else "refused, several lines"] += 1
            if "stalled" in str(exc):
                counts["of which: the library looped"] += 1
        except Exception as exc:  # noqa: BLE001  what we are looking for
            counts["escaped"] += 1
            escaped.append("%s: %s: %s" % (label, type(exc).__name__, exc))
        slowest = max(slowest, time.monotonic() - start)
    return counts, escaped, slowest


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from reproduce.nets.weights import load_model
    from reproduce.prior.fit import load_prior
    rng = np.random.RandomState(args.seed)
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        for path, load in ((paths.PRIOR, load_prior), (paths.EMBEDDED_CLASSIFIER, load_model),
                           (paths.EMBEDDED_VGG16_CONV, load_model)):
            if not os.path.exists(path):
                print("%s: absent, skipped" % paths.shown(path))
                continue
            counts, escaped, slowest = run(path, load, args.mutants, rng, folder)
            print("%s: %d mutants: %s; slowest %.1f s" % (
                paths.shown(path), sum(v for k, v in counts.items() if not k.startswith("of")),
                ", ".join("%s %d" % kv for kv in sorted(counts.items())), slowest))
            for line in escaped:
                print("  ESCAPED " + line)
            failed |= bool(escaped)
        bomb = os.path.join(folder, "bomb.png")
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from test_fuzz import bomb_png
        import pathlib
        bomb_png(pathlib.Path(bomb))
        from reproduce.cli import main as cli
        status = cli(["classify", bomb, "--weights", paths.EMBEDDED_CLASSIFIER])
        print("classify on a 30000x30000 PNG of %d bytes: exit %d" % (os.path.getsize(bomb),
                                                                      status))
        failed |= status != 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Every default path of the project, resolved from the repository, never
from the working directory, so that a command gives the same answer from
any folder.  ``LSD2015_DIR`` may be moved with the environment variable of
the same name (CI lays ``shared/`` beside the checkout)."""
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "reproduce")
WEIGHTS_DIR = os.path.join(REPO, "weights")
RESULTS_DIR = os.path.join(REPO, "results")
LSD2015_DIR = os.environ.get(
    "LSD2015_DIR", os.path.join(REPO, "..", "shared", "reference", "lsd2015"))

VGG16 = os.path.join(WEIGHTS_DIR, "vgg16.h5")
EMBEDDED_CLASSIFIER = os.path.join(WEIGHTS_DIR, "efficientnet_lite0.h5")
EMBEDDED_VGG16_CONV = os.path.join(WEIGHTS_DIR, "vgg16_conv_hed.h5")
JUDGE = os.path.join(WEIGHTS_DIR, "efficientnet_lite2.h5")
PRIOR = os.path.join(WEIGHTS_DIR, "prior_student.h5")
GOOGLENET = os.path.join(WEIGHTS_DIR, "bvlc_googlenet.h5")            # make weights-googlenet
PLACES205_GOOGLENET = os.path.join(WEIGHTS_DIR, "places205_googlenet.h5")  # make weights-places
DEEPDREAM_FIGURES_DIR = os.path.join(RESULTS_DIR, "deepdream")
STREAM_PAGE = os.path.join(PACKAGE, "stream", "web", "index.html")
# What a machine measures or compiles once: Theano's compile cache, the BLAS survey.
CACHE_ROOT = os.environ.get(
    "REPRODUCE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "reproduce"))


def shown(path):
    """``path`` relative to the repository when inside it, for help texts."""
    rel = os.path.relpath(path, REPO)
    return path if rel.startswith("..") else rel

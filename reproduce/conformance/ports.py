"""The ports the table compares, with their pinned versions.

``env`` says where a port's adapter runs: "torch" (the layered venv of
requirements-conformance-torch.txt), "tf" (requirements-conformance-tf.txt),
"source" (no package on the registry: its formulas restated, with the
file and line they come from, and run in the torch venv), or "none" (it
cannot run beside either: a skipped row that says why).
"""
import dataclasses


@dataclasses.dataclass(frozen=True)
class Port:
    name: str          # the row's name
    package: str       # what pip installs ("" for source-only ports)
    version: str       # the pinned version (or the commit of a source port)
    env: str           # "torch", "tf", "source", "none"
    adapter: str       # file in reproduce/conformance/adapters/
    summary: str       # one line: what the port is
    reason: str = ""   # env "none": why it cannot run here


PORTS = (
    Port("torchvision", "torchvision", "0.28.0", "torch", "port_torchvision.py",
         "torchvision.models.vgg: the model zoo's VGG class"),
    Port("lucent", "torch-lucent", "0.1.8", "torch", "port_lucent.py",
         "Lucid's feature visualisation in PyTorch (render_vis)"),
    Port("torch-dreams", "torch-dreams", "4.0.0", "torch", "port_torch_dreams.py",
         "feature visualisation: Dreamer.render on an AutoImageParam"),
    Port("neural-dream", "neural-dream", "0.0.4", "torch", "port_neural_dream.py",
         "DeepDream in PyTorch after neural-style-pt (octaves, jitter, Adam)"),
    Port("dreamlens", "dreamlens", "0.1.1", "torch", "port_dreamlens.py",
         "feature visualisation (FeatureVisualizer)"),
    Port("horama", "horama", "0.3.0", "torch", "port_horama.py",
         "MACO and Fourier feature visualisation"),
    Port("pytorch-deepdream", "", "gordicaleksa/pytorch-deepdream@f37d99a", "source",
         "port_pytorch_deepdream.py",
         "DeepDream in PyTorch (no package: formulas restated with citations)"),
    Port("captum.optim", "", "pytorch/captum@39e6ab1 (optim-wip)", "source", "port_captum_optim.py",
         "captum's optim module (unreleased: formulas restated with citations)"),
    Port("keras-io deepdream", "", "keras-team/keras-io@0a57de4", "source",
         "port_keras_io.py",
         "the keras-io DeepDream example (formulas restated with citations)"),
    Port("tf deepdream tutorial", "", "tensorflow/docs@7c36502", "source",
         "port_tf_tutorial.py",
         "the TensorFlow DeepDream tutorial (formulas restated with citations)"),
    Port("keras VGG16", "tensorflow-cpu", "2.17.1", "tf", "port_keras_vgg16.py",
         "keras.applications.VGG16"),
    Port("tf-keras-vis", "tf-keras-vis", "0.8.7", "tf", "port_tf_keras_vis.py",
         "ActivationMaximization on a Keras model"),
    Port("xplique", "Xplique", "2.0.2", "tf", "port_xplique.py",
         "xplique.features_visualizations.optimize"),
    Port("lucid", "lucid", "0.3.10", "none", "",
         "the original TensorFlow feature visualisation library",
         reason="needs TensorFlow 1.x, which needs numpy <= 1.19 and Python <= 3.7; "
                "neither venv can hold it"),
)


def by_name(names):
    """The ports named (all for None), in the table's order."""
    if not names:
        return list(PORTS)
    known = {p.name: p for p in PORTS}
    from ..errors import UserError
    for n in names:
        if n not in known:
            raise UserError("--ports: unknown port %r; known: %s"
                            % (n, ", ".join(p.name for p in PORTS)))
    return [p for p in PORTS if p.name in names]

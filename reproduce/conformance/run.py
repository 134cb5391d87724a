"""Run every port's adapter on the reference and judge its arrays, stage by stage.

Our side computes what each stage is compared with: the reference file's
arrays where it holds them, else our PyTorch port (``reproduce_torch``,
itself tested against the reference to 1e-5).  Each port's adapter runs as
a subprocess under its own interpreter; the two exchange numpy ``.npz``
files.  One adapter run computes both modes.
"""
import json
import os
import subprocess
import tempfile

import numpy as np

from ..errors import UserError
from . import envs, stages
from .ports import PORTS
from .stages import Cell, compare_gradient, compare_images, compare_values, not_computed

ADAPTERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "adapters")
FORCED_STEPS = 4
TIMEOUT = 600          # seconds per adapter


# ----------------------------------------------------------------- our side

def model_spec(model):
    """The model as the adapters read it: a JSON of the layer list and the
    arrays, no reproduce import needed on their side."""
    layers, arrays = [], {}
    for s in model.layers:
        if s.type not in ("conv", "relu", "pool") or s.input or (
                s.type == "pool" and s.method != "max") or (
                s.type == "conv" and (s.pad == "same" or s.groups != 1)):
            raise UserError("conformance needs a VGG-like model (convs, ReLUs, max pools "
                            "in a chain); %s has layer %r of type %s"
                            % (model.model_name, s.name, s.type))
        entry = {"name": s.name, "type": s.type}
        if s.type == "conv":
            entry.update(pad=[int(p) for p in s.pad], stride=[int(v) for v in s.stride])
            arrays["W:" + s.name], arrays["b:" + s.name] = s.W, s.b
        elif s.type == "pool":
            entry.update(size=[int(v) for v in s.size], stride=[int(v) for v in s.stride],
                         pad=[int(p) for p in s.pad])
        layers.append(entry)
    spec = {"model_name": model.model_name, "channel_order": model.channel_order,
            "mean_rgb": [float(v) for v in model.mean_rgb()], "scale": float(model.scale),
            "image_shape": [int(v) for v in model.image_shape], "layers": layers}
    return spec, arrays


def our_side(ref_arrays, attrs, model, prior):
    """(inputs for the adapters, expected arrays) from the reference file."""
    import torch

    import reproduce_torch as rt
    from reproduce_torch.objectives import layer_l2
    from ..deepdream.settings import DreamSettings
    from ..reference import reference_profile

    # arrays fresh from Theano may be views with negative strides (a BGR flip)
    ref_arrays = {k: np.array(v, order="C") for k, v in ref_arrays.items()}
    profile = reference_profile(tuple(attrs["size"]))
    net = rt.build_net(model, "cpu")
    dream_layer = str(attrs["deepdream_layer"])          # e.g. relu4_3
    names = net.names
    conv = names[names.index(dream_layer) - 1]           # the conv it rectifies
    start, x = ref_arrays["start"], ref_arrays["input"]
    with torch.no_grad():
        before_relu, after_relu = (v.numpy() for v in net.outputs([conv, dream_layer],
                                                                  torch.as_tensor(x)))
        th, tw = model.image_shape
        logits224 = net.output(profile.layer, torch.as_tensor(x[:, :, :th, :tw])).numpy()

    def batch(image):
        return torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)[None]))

    plain = rt.Dreamer(net, profile, None)  # the objective alone, no prior
    plain.set_classes(*attrs["classes"])
    plain.set_image(start)
    objective_grad = -plain.gradient()[1].numpy()
    full = rt.Dreamer(net, profile, prior)
    full.set_classes(*attrs["classes"])

    def dd_grad(image):
        pixels = batch(image).requires_grad_(True)
        value = layer_l2(dream_layer)(net.activations(rt.preprocess(pixels, model,
                                                                    profile.mean)))
        return torch.autograd.grad(value, pixels)[0].numpy()

    before = ref_arrays["trajectory/before"][:FORCED_STEPS]
    forced_lsd, forced_dd = [], []
    for image in before:
        full.set_image(image)
        forced_lsd.append(full.gradient()[1].numpy())
        forced_dd.append(dd_grad(image))
    settings = DreamSettings()
    dd_after = [dream_step(image, g, settings.step_size)
                for image, g in zip(before, forced_dd)]
    dd_step = dream_step(start, ref_arrays["deepdream/grad"], settings.step_size)
    dx, dy = (int(v) for v in ref_arrays["dream/jitter"])   # the reference's own roll
    spec, weights = model_spec(model)
    inputs = dict(weights, start=start, input=x, conv=conv, relu=dream_layer,
                  logit_layer=profile.layer, classes=np.asarray(attrs["classes"]),
                  half_row=np.int64(profile.half_row_index(net) or 0),
                  lsd_grad=ref_arrays["grad"], dd_grad=ref_arrays["deepdream/grad"],
                  objective_grad=objective_grad,
                  forced_before=before, forced_lsd_grad=np.stack(forced_lsd),
                  forced_dd_grad=np.stack(forced_dd), jitter=np.asarray((dy, dx)),
                  learning_rate=np.float32(profile.learning_rate),
                  step_size=np.float32(settings.step_size),
                  spec=json.dumps(spec))
    expected = {
        "preprocessing": x, "layer/after": after_relu, "layer/before": before_relu,
        "logits": logits224, "logit_map": ref_arrays["logits"],
        "objective/lsd2015": ref_arrays["objective"],
        "objective/deepdream": ref_arrays["deepdream/objective"],
        "gradient/lsd2015": objective_grad, "gradient/deepdream": ref_arrays["deepdream/grad"],
        "step/lsd2015": ref_arrays["step1"], "step/deepdream": dd_step,
        "forced/lsd2015": ref_arrays["trajectory/after"][:FORCED_STEPS],
        "forced/deepdream": np.stack(dd_after), "forced/before": before,
        "jitter": np.roll(start, (dy, dx), axis=(0, 1)),
        "octaves": [ref_arrays["dream/octave%d" % i] for i in range(settings.octaves)],
        "zoom": ref_arrays["zoom"], "prior": ref_arrays["prior/total"], "start": start}
    return inputs, expected


def dream_step(image, grad, step_size):
    """dream.ipynb's step on a given gradient (no jitter): image + step_size /
    mean|g| * g, clipped to 0..255 (reproduce.deepdream.dream.ascent_step)."""
    g = np.asarray(grad, np.float32)[0].transpose(1, 2, 0)
    return np.clip(image + step_size / np.abs(g).mean() * g, 0, 255).astype(np.float32)


# ----------------------------------------------------------------- their side

def python_for(port):
    """The interpreter of ``port``'s environment, or None when it is not built."""
    env = envs.ENVS["torch" if port.env == "source" else port.env]
    return env.python if envs.ready(env) else None


def install_hint(port):
    if port.env == "none":
        return port.reason
    env = envs.ENVS["torch" if port.env == "source" else port.env]
    return "not installed: %s" % env.install_command()


def run_adapter(port, inputs_path, folder, timeout=TIMEOUT):
    """Run the port's adapter -> (arrays, notes, kinds, versions); raise
    RuntimeError with its stderr's last line when it fails."""
    out = os.path.join(folder, "%s.npz" % port.adapter[:-3])
    cmd = [python_for(port), os.path.join(ADAPTERS, port.adapter), inputs_path, out]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONHASHSEED="0",
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    env.pop("PYTHONPATH", None)  # the port's own interpreter, not ours
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["exit status %d" % done.returncode])[-1]
        raise RuntimeError(last)
    with np.load(out, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays.pop("meta")))
    return arrays, meta


# ----------------------------------------------------------------- judging

def judge(arrays, meta, expected, mode):
    """{stage: Cell} for one mode of one port's results."""
    notes, kinds = meta["notes"].get(mode, {}), meta.get("kinds", {}).get(mode, {})
    cells = {}
    for stage in stages.STAGE_KEYS:
        note = notes.get(stage, "")
        key = "%s/%s" % (mode, stage)
        present = [k for k in arrays if k == key or k.startswith(key + "/")]
        if not present:
            cells[stage] = not_computed(note or "the port has no such stage")
            continue
        kind = kinds.get(stage, "lsd2015")
        cells[stage] = _judge_stage(stage, kind, arrays, key, expected, note)
        if kind == "deepdream" and stage in ("objective", "gradient", "step", "forced"):
            cells[stage].measure = ("DeepDream: " + cells[stage].measure).rstrip(": ")
    return cells


def _judge_stage(stage, kind, arrays, key, expected, note):
    tol = stages.TOLERANCE.get(stage)
    if stage == "layer":
        value = arrays[key]
        after = compare_values(value, expected["layer/after"], tol)
        if after.verdict in ("identical", "agrees"):
            after.measure = ("after the ReLU, as ours; " + after.measure).rstrip("; ")
            after.note = note
            return after
        before = compare_values(value, expected["layer/before"], tol)
        if before.verdict in ("identical", "agrees"):
            return Cell("differs", "the conv's output before its ReLU (ours: after)", note)
        return Cell("differs", after.measure, note)
    if stage in ("objective", "logits", "logit_map", "preprocessing", "prior"):
        want = expected["%s/%s" % (stage, kind)] if stage == "objective" else expected[stage]
        return compare_values(arrays[key], want, tol, note)
    if stage == "gradient":
        return compare_gradient(arrays[key], expected["gradient/" + kind], note)
    if stage == "step":
        return compare_images(arrays[key], expected["step/" + kind], expected["start"], note)
    if stage == "forced":
        cells = [compare_images(a, e, b) for a, e, b in zip(
            arrays[key], expected["forced/" + kind], expected["forced/before"])]
        worst = max(cells, key=lambda c: stages.VERDICTS.index(c.verdict))
        shares = ", ".join(c.measure.split(" within")[0] for c in cells)
        if len(cells) != FORCED_STEPS:
            return Cell("differs", "%d steps, ours %d" % (len(cells), FORCED_STEPS), note)
        return Cell(worst.verdict, "steps 1-4: %s within %g level" % (shares, stages.STEP_TOL),
                    note, worst.factor)
    if stage == "jitter":
        return compare_images(arrays[key], expected["jitter"], note=note)
    if stage == "octaves":
        bases = [arrays[k] for k in sorted(
            (k for k in arrays if k.startswith(key + "/")), key=lambda k: int(k.split("/")[-1]))]
        ours = expected["octaves"]
        sizes = [b.shape[:2] for b in bases]
        if sizes != [b.shape[:2] for b in ours]:
            return Cell("differs", "octave sizes %s, ours %s" % (
                _sizes(sizes), _sizes([b.shape[:2] for b in ours])), note)
        cells = [compare_images(a, e) for a, e in zip(bases, ours)]
        worst = max(cells, key=lambda c: stages.VERDICTS.index(c.verdict))
        return Cell(worst.verdict, worst.measure, note)
    if stage == "zoom":
        return compare_images(arrays[key], expected["zoom"], note=note)
    raise AssertionError(stage)


def _sizes(sizes):
    return " ".join("%dx%d" % (c, r) for r, c in sizes)


# ----------------------------------------------------------------- the table

def conformance(ref_arrays, attrs, model, prior, ports=None, progress=None):
    """Every port's row -> {"ports": [...], "stages": [...], "reference": {...}}."""
    ports = ports or list(PORTS)
    inputs, expected = our_side(ref_arrays, attrs, model, prior)
    rows = []
    with tempfile.TemporaryDirectory(prefix="conformance-") as folder:
        inputs_path = os.path.join(folder, "inputs.npz")
        np.savez(inputs_path, **inputs)
        for port in ports:
            rows.append(_row(port, inputs_path, folder, expected))
            if progress:
                progress("%s: %s" % (port.name, rows[-1]["status"]))
    return {"stages": [{"key": k, "title": t, "compared_with": c} for k, t, c in stages.STAGES],
            "modes": list(stages.MODES), "model": attrs["model_name"],
            "size": [int(v) for v in attrs["size"]], "ports": rows}


def _row(port, inputs_path, folder, expected):
    row = {"port": port.name, "package": port.package, "version": port.version,
           "env": port.env, "summary": port.summary}
    if port.env == "none" or python_for(port) is None:
        row.update(status="skipped", reason=install_hint(port))
        return row
    try:
        arrays, meta = run_adapter(port, inputs_path, folder)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        row.update(status="failed", reason="the adapter failed: %s" % exc)
        return row
    row.update(status="ran", installed=meta.get("versions", {}),
               cells={mode: {stage: cell.as_dict() for stage, cell in
                             judge(arrays, meta, expected, mode).items()}
                      for mode in stages.MODES})
    return row

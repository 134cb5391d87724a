# The README's two set-up commands are `make setup` and `make test`.
PY      := .venv/bin/python
PIP     := .venv/bin/pip
WEIGHTS := weights/vgg16.h5

.PHONY: setup system-deps conformance test fuzz weights weights19 weights-googlenet weights-places weights-embedded prior bench figures deepdream-figures demo stream-demo

# TORCH=0 leaves out the PyTorch port and the modern PyTorch ports' venv.
setup: system-deps .venv/stamp weights-embedded prior $(if $(filter 0,$(TORCH)),,.venv-conformance-torch/stamp)

# OpenBLAS for Theano's conv path (1.0 s against 1.3-1.9 s a VGG-16 step).
system-deps:
	@if [ "$$(id -u)" = 0 ] && ! ldconfig -p | grep -q libopenblas.so; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev >/dev/null; \
	fi
	@# Chromium for tests/stream/test_browser.py (Playwright drives the system browser).
	@if [ "$$(id -u)" = 0 ] && [ ! -x /usr/bin/chromium ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

REQUIREMENTS := requirements.txt requirements-test.txt requirements-atlas.txt

.venv/stamp: $(REQUIREMENTS) requirements-embedded.txt requirements-torch.txt pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(REQUIREMENTS:%=-r %)
	$(PIP) install -q --no-deps -r requirements-embedded.txt
	@if [ "$(TORCH)" != 0 ]; then $(PIP) install -q -r requirements-torch.txt; fi  # TORCH=0: no PyTorch port
	@# This checkout, editable (pyproject's package-dir makes it a plain .pth
	@# line, so PYTHONPATH still comes first), with the `reproduce` console script.
	$(PIP) install -q --no-deps -e .
	touch $@

# The modern ports of docs/conformance.md, each family in a venv of its own
# from its pinned file (the registry once, then offline): the PyTorch ones
# layered on .venv (built by setup: `make test` runs them), TensorFlow's
# apart (protobuf < 5, numpy 1.23.5), built by `make conformance` only.
.venv-conformance-torch/stamp: requirements-conformance-torch.txt .venv/stamp
	$(PY) -m reproduce.conformance.envs torch

.venv-conformance-tf/stamp: requirements-conformance-tf.txt requirements-conformance-tf-nodeps.txt .venv/stamp
	$(PY) -m reproduce.conformance.envs tf

# The port x stage table on a VGG-16-shaped model (reference computed here);
# CONFORMANCE_ARGS="--json results/conformance.json" writes it as data too.
conformance: setup .venv-conformance-tf/stamp
	$(PY) -m reproduce conformance $(CONFORMANCE_ARGS)


# The offline default weights (weights/README.md); files already up to date
# are skipped without a word, so that a second `make setup` prints nothing.
weights-embedded: .venv/stamp
	@$(PY) -m reproduce convert-embedded --dest weights/ --quiet

# Our own Student-t patch prior, fitted on scikit-image's photos (docs/prior.md):
# 100 000 patches, about 5-25 s.  The figures, dream and the stream use it.
prior: weights/prior_student.h5

weights/prior_student.h5: | .venv/stamp
	$(PY) -m reproduce fit-prior --out $@

test: setup
	$(PY) -m pytest -q

# Bad input, at length: the suite's table (tests/test_fuzz.py, test_hostile_files.py)
# plus HDF5 mutants of our real files and a decompression bomb (tests/fuzz_large.py).
fuzz: setup
	$(PY) -m pytest -q tests/test_fuzz.py tests/test_hostile_files.py tests/test_bad_input.py
	$(PY) tests/fuzz_large.py --mutants $(or $(MUTANTS),120)

weights: setup
	$(PY) -m reproduce download vgg16

weights19: setup
	$(PY) -m reproduce download vgg19

# Caffe's GoogLeNets for DeepDream (reproduce/convert/caffe_zoo.py): BVLC
# GoogLeNet (ImageNet, SHA-1 checked) and Places205-GoogLeNet (the Places
# project's archive), downloaded resumably and converted into weights/.
weights-googlenet: setup
	$(PY) -m reproduce download googlenet

weights-places: setup
	$(PY) -m reproduce download places205

# The 2015 gallery: one script per figure, then results/index.html.
# QUICK=1 runs each at a small size with few steps; RESULTS=dir writes elsewhere,
# WEIGHTS=file uses another classifier, FIGURE_ARGS="--backend torch" the port.
FIGURES := bee spider_web tree_frog cheeseburger pizza gondola volcano kit_fox \
           broccoli rabbit_and_analog_clock bubble
RESULTS ?= results
FIGURE_FLAGS := --weights $(WEIGHTS) --results $(RESULTS) $(if $(QUICK),--quick) $(if $(PRIOR),--prior $(PRIOR)) $(FIGURE_ARGS)

# $(call run_scripts,SCRIPTS,FLAGS): each script with FLAGS, one after another;
# with SCHEDULER=tcp://HOST:PORT one task each on that Dask cluster (SCHEDULER=local:
# a local cluster, one worker per core), README "The class atlas".
run_scripts = $(if $(SCHEDULER),$(PY) -m reproduce run-scripts --scheduler $(SCHEDULER) --args "$(2)" $(1),for s in $(1); do $(PY) $$s $(2) || exit $$?; done)

figures: setup
	@test -f $(WEIGHTS) || { echo "error: $(WEIGHTS) not found; run \`make weights\` first (or make figures WEIGHTS=path)" >&2; exit 2; }
	@$(call run_scripts,$(FIGURES:%=experiments/%.py),$(FIGURE_FLAGS))
	$(PY) experiments/gallery.py --results $(RESULTS)

# The DeepDream seed gallery: one script per picture of the DeepDream explainer
# (experiments/deepdream/), six octaves on a start photo, then
# results/deepdream/index.html.  QUICK=1: a smoke run; GOOGLENET=/PLACES=
# other weights; DD_RESULTS=dir writes elsewhere; DD_ARGS="--image photo.jpg";
# DD_ONLY=conv2_norm2 the pictures of one layer name (a glob).
GOOGLENET ?= weights/bvlc_googlenet.h5
PLACES ?= weights/places205_googlenet.h5
DD_RESULTS ?= results/deepdream
DD_ONLY ?= *
DD_FLAGS = --results $(DD_RESULTS) $(if $(QUICK),--quick) $(DD_ARGS)
DD_INTRO := DeepDream layer by layer on Caffe&rsquo;s GoogLeNets, as in the DeepDream explainer: six octaves of 10 steps (octave scale 1.4, step size 1.5, jitter 32: dream.ipynb&rsquo;s defaults), each layer named as Caffe names its blob.

deepdream-figures: setup
	@$(call run_scripts,$(wildcard experiments/deepdream/googlenet_$(DD_ONLY).py),--weights $(GOOGLENET) $(DD_FLAGS))
	@$(call run_scripts,$(wildcard experiments/deepdream/places205_$(DD_ONLY).py),--weights $(PLACES) $(DD_FLAGS))
	$(PY) experiments/gallery.py --results $(DD_RESULTS) --title "DeepDream on GoogLeNet, layer by layer" --intro "$(DD_INTRO)"

# Every section listed in bench/__main__.py; `$(PY) -m bench foundation` runs one.
bench: setup
	$(PY) -m bench

# A few seconds of the zooming stream recorded to results/ (CPU, the embedded
# EfficientNet-Lite0, 336x192, our fitted prior): video + animated preview.
# The live page itself:
# `python -m reproduce serve`, then open http://127.0.0.1:8025/.
STREAM_DEMO_FLAGS = --classes volcano --seconds 4 --size 336x192
stream-demo: setup
	$(PY) -m reproduce stream --out results/stream_demo.mp4 $(STREAM_DEMO_FLAGS)

# Offline pictures from the embedded weights, on the CPU, into results/demo/
# with a gallery page: DeepDream, a layer sweep, a flow-coherent video of a
# clip the demo makes and dream.ipynb's zoom loop on the HED VGG-16 conv
# stack, and class pictures on EfficientNet-Lite0 with the Fourier recipe and
# the 2015 recipe, judged by EfficientNet-Lite2.  QUICK=1: a smoke run.
DEMO_INTRO := Made offline by <code>make demo</code> from the embedded weights: DeepDream, a flow-coherent video and a zoom loop on the HED VGG-16 conv stack, and class pictures on EfficientNet-Lite0 with the Fourier recipe and the 2015 recipe (judge: EfficientNet-Lite2, which made none of them).
demo: setup
	$(PY) experiments/demo_deepdream.py $(if $(QUICK),--quick)
	$(PY) experiments/demo_classes.py $(if $(QUICK),--quick)
	$(PY) experiments/gallery.py --results results/demo --title "make demo" --intro "$(DEMO_INTRO)"

"""The ports' own environments: one venv per family, from pinned files.

* ``torch``: layered on the project's ``.venv`` (a ``.pth`` line adds its
  site-packages, so torch 2.13.0 and numpy 1.23.5 are the project's own);
  the ports install into it without their dependencies.
* ``tf``: a separate venv.  TensorFlow cannot share ``.venv``: TF <= 2.17
  wants protobuf < 5 (``.venv`` has 5.29 for the Caffe reader) and TF >=
  2.18 wants numpy >= 1.26 (Theano 1.0.5 needs 1.23).

After the registry install everything runs offline.  An environment counts
as built when its stamp file holds the sha256 of its requirement file.
"""
import dataclasses
import hashlib
import os
import subprocess
import sys
import sysconfig

from ..errors import UserError
from ..paths import IN_CLONE, REPO


@dataclasses.dataclass(frozen=True)
class Env:
    name: str
    folder: str          # beside .venv, in the repository
    requirements: str    # the pinned file
    layered: bool        # True: sees .venv's packages (torch, numpy, reproduce)
    pip_flags: tuple = ()
    no_deps: str = ""    # a second pinned file, installed without dependencies

    @property
    def path(self):
        return os.path.join(REPO, self.folder)

    @property
    def python(self):
        return os.path.join(self.path, "bin", "python")

    @property
    def stamp(self):
        return os.path.join(self.path, "stamp")

    def install_command(self):
        """The one command that builds it (the Makefile's target)."""
        return "make %s" % os.path.relpath(self.stamp, REPO)


ENVS = {
    "torch": Env("torch", ".venv-conformance-torch", "requirements-conformance-torch.txt",
                 layered=True, pip_flags=("--no-deps",)),
    "tf": Env("tf", ".venv-conformance-tf", "requirements-conformance-tf.txt",
              layered=False, no_deps="requirements-conformance-tf-nodeps.txt"),
}


def requirements_hash(env):
    digest = hashlib.sha256()
    for name in (env.requirements, env.no_deps):
        if name:
            with open(os.path.join(REPO, name), "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def ready(env):
    """True when ``env`` is built from the current requirement file."""
    try:
        with open(env.stamp) as f:
            return f.read().strip() == requirements_hash(env) and os.access(env.python,
                                                                           os.X_OK)
    except OSError:
        return False


def _site_packages(python):
    out = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                          "['purelib'])"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def build(env, log=sys.stderr):
    """Create ``env`` (the registry install: needs the network once).

    The venv is made by the interpreter .venv was made from; a layered one
    gets a ``.pth`` file that adds .venv's site-packages (with its own .pth
    files: the editable ``reproduce``), so that nothing is installed twice.
    """
    if not IN_CLONE:  # the venvs live in the clone: never inside site-packages
        raise UserError("the ports' environment %s is built in a clone of the project, "
                        "from %s beside its Makefile; run this command there"
                        % (env.folder, env.requirements))
    base = getattr(sys, "_base_executable", sys.executable)
    if not os.access(env.python, os.X_OK):
        # no pip of its own: this interpreter's pip installs into it (--python)
        subprocess.run([base, "-m", "venv", "--without-pip", env.path], check=True)
    if env.layered:
        ours = sysconfig.get_paths()["purelib"]
        with open(os.path.join(_site_packages(env.python), "_reproduce_layer.pth"), "w") as f:
            # an "import" line, so that .venv's own .pth files are read as well
            f.write("import site; site.addsitedir(%r)\n" % ours)
    pip = [sys.executable, "-m", "pip", "--python", env.python, "install", "-q",
           "--disable-pip-version-check"]
    for name, flags in ((env.requirements, env.pip_flags), (env.no_deps, ("--no-deps",))):
        if not name:
            continue
        cmd = pip + [*flags, "-r", os.path.join(REPO, name)]
        print("conformance: building %s: pip %s" % (env.folder, " ".join(cmd[5:])),
              file=log)
        done = subprocess.run(cmd)
        if done.returncode != 0:
            raise UserError("installing %s into %s failed (pip exit status %d); the rows "
                            "of its ports are skipped" % (name, env.folder, done.returncode))
    with open(env.stamp, "w") as f:
        f.write(requirements_hash(env) + "\n")


if __name__ == "__main__":  # the Makefile's targets: python -m reproduce.conformance.envs torch
    from ..errors import exit_status
    sys.exit(exit_status(lambda: build(ENVS[sys.argv[1]])))

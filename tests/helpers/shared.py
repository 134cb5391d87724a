"""The 2015 reference files (../shared/reference/lsd2015, or $LSD2015_DIR)."""
import os

import pytest

from reproduce.paths import LSD2015_DIR as LSD2015


def lsd2015_file(name):
    """Path of a 2015 reference file, or skip the test where ../shared is absent."""
    path = os.path.join(LSD2015, name)
    if not os.path.exists(path):
        pytest.skip("2015 reference files not found at %s" % LSD2015)
    return path

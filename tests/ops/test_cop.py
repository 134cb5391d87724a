"""The C Ops' plumbing: C files loaded by COp, cache versions, the CorrMM patch."""
import hashlib

from reproduce.ops import corrmm_workspace, cop
from reproduce.ops.depthwise import DepthwiseCorr
from reproduce.ops.gather import WeightedGather


def test_the_corrmm_workspace_patch_applied():
    """If Theano's CorrMM source changes, the patch stays off; this says so."""
    assert corrmm_workspace.applied()


def test_cache_versions_follow_the_c_files_content(tmp_path):
    """Stable across processes (not Python's salted hash), new when the file changes."""
    version = DepthwiseCorr().c_code_cache_version()
    assert version == DepthwiseCorr((2, 2), (0, 1, 0, 1)).c_code_cache_version()
    assert version != WeightedGather().c_code_cache_version()
    path = tmp_path / "x.c"
    for text in (b"#section support_code\n", b"#section support_code\n/* changed */\n"):
        path.write_bytes(text)
        cop.content_version.cache_clear()
        assert cop.content_version(str(path)) == ("sha1", hashlib.sha1(text).hexdigest()[:16])


def test_one_entry_point_per_op_in_its_c_file():
    for op in (DepthwiseCorr(), WeightedGather()):
        assert op.func_name == "APPLY_SPECIFIC(%s)" % op.c_function
        assert "int APPLY_SPECIFIC(%s)(" % op.c_function in op.code_sections["support_code_apply"]


def test_ops_sharing_c_helpers_compile_into_one_graph():
    """output4.c is in both Ops' files; its guard lets one module hold both."""
    import numpy as np
    from reproduce.backend import T, theano
    from reproduce.ops.depthwise import depthwise_corr
    from reproduce.ops.winograd import winograd_corr
    x = T.ftensor4("x")
    w1 = np.ones((2, 1, 3, 3), np.float32)
    w2 = np.ones((2, 2, 3, 3), np.float32)
    f = theano.function([x], winograd_corr(depthwise_corr(x, w1), w2, 2))
    assert f(np.ones((1, 2, 4, 4), np.float32)).shape == (1, 2, 4, 4)

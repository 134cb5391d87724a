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

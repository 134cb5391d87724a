"""The 2015 settings as data: complete, traced, overridable."""
import dataclasses

import pytest

from reproduce.commands._options import parse_sets
from reproduce.errors import UserError
from reproduce.lsd2015.profiles import PROFILES, get_profile


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_setting_has_a_source_and_profiles_are_hashable(name):
    profile = PROFILES[name]
    hash(profile)  # compiled steps are cached by profile
    traced = dict(profile.sources)
    missing = [f.name for f in dataclasses.fields(profile)
               if f.name not in ("name", "sources") and not traced.get(f.name)]
    assert missing == []


def test_the_2015_constants():
    stream, image = PROFILES["stream2015"], PROFILES["image2015"]
    assert (stream.learning_rate, stream.steps_per_zoom, stream.prior_strength) == (5.0, 10, 10.0)
    assert stream.prior_scales == (1, 4, 8, 16, 32) and stream.net_scales == (1,)
    # 2015 ran 100 steps but saved its last picture before the 100th
    assert (image.prior_strength, image.steps, image.steps_per_zoom) == (1000.0, 99, None)
    assert image.prior_scales == (1, 2, 5, 11, 23, 47, 95) and image.net_scales == (3, 4)
    assert stream.update == image.update == "adam2015"
    assert stream.zoom_per_key() == pytest.approx(1.05 ** (17 / 25.0))


def test_overrides_parse_like_the_setting():
    texts = ["learning_rate=2", "prior_scales=1,2", "image_size=100x50",
             "steps_per_zoom=3", "update=adam"]
    p = get_profile("image2015", parse_sets(PROFILES["image2015"], texts))
    assert (p.learning_rate, p.prior_scales, p.image_size, p.steps_per_zoom, p.update) == \
        (2.0, (1, 2), (100, 50), 3, "adam")
    hash(p)


@pytest.mark.parametrize("bad", ["no_such=1", "learning_rate=fast", "name=x",
                                 "half_row=middle", "zoom_kernel=lanczos",
                                 "zoom_centre=middle", "pool_ties=all",
                                 "zoom_dither=random", "zoom_dither=", "zoom_dither=nan",
                                 "zoom_dither=1e300"])
def test_bad_overrides_are_user_errors(bad):
    with pytest.raises(UserError):
        get_profile("stream2015", parse_sets(PROFILES["stream2015"], [bad]))


def test_the_2015_oddities_are_the_defaults_and_the_modern_choices_options():
    for profile in PROFILES.values():
        assert (profile.zoom_centre, profile.pool_ties) == ("2015", "model")
    p = get_profile("stream2015", parse_sets(PROFILES["stream2015"],
                                             ["zoom_centre=true", "pool_ties=argmax"]))
    assert (p.zoom_centre, p.pool_ties) == ("true", "argmax")
    assert get_profile("stream2015", parse_sets(PROFILES["stream2015"],
                                                ["zoom_centre=2015"])).zoom_centre == "2015"


def test_unknown_profile():
    with pytest.raises(UserError, match="stream2015"):
        get_profile("video2016")

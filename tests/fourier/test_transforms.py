"""Transforms (reproduce/fourier/transforms.py): seeded draws, exact pad/crop/roll,
bilinear scale and rotation that invert where they should, gradients that
reach the image, and the 2015 zoom as a between-step transform.
Five small compiles."""
import numpy as np
import pytest

from reproduce.lsd2015 import frames
from reproduce.fourier import transforms as tr
from reproduce.backend import T, theano
from reproduce.lsd2015.profiles import STREAM2015


def compiled(transform):
    """numpy (1, 3, H, W) image + the transform's input values -> output."""
    x = T.tensor4("x")
    y = transform.build(x)
    return theano.function([x] + transform.inputs, y)


def smooth_image(rows, cols, seed=0):
    """A smooth (1, 3, rows, cols) test image on 0..255: low-frequency waves."""
    r, c = np.mgrid[0:rows, 0:cols] / float(max(rows, cols))
    rng = np.random.RandomState(seed)
    chans = [128 + 60 * np.sin(2 * np.pi * (rng.rand() * 2 * r + rng.rand() * 2 * c)
                               + rng.rand() * 6) for _ in range(3)]
    return np.stack(chans)[None].astype(np.float32)


def test_draws_are_seeded_and_reseedable():
    def draws(chain):
        return [chain.draw((40, 40)) for _ in range(4)]

    a, b, c = tr.standard(seed=5), tr.standard(seed=5), tr.standard(seed=6)
    first, same, other = draws(a), draws(b), draws(c)
    for (v1, s1), (v2, s2) in zip(first, same):
        assert s1 == s2 and all(np.array_equal(p, q) for p, q in zip(v1, v2))
    assert any(s1 != s3 or not all(np.array_equal(p, q) for p, q in zip(v1, v3))
               for (v1, s1), (v3, s3) in zip(first, other))
    a.reseed(5)
    assert all(np.array_equal(p, q) for p, q in zip(draws(a)[0][0], first[0][0]))


def test_pad_then_crop_jitter_is_exact():
    chain = tr.Compose([tr.Pad(3, value=50.0), tr.Jitter(4)])
    fn = compiled(chain)
    x = smooth_image(10, 12)
    padded = np.pad(x, ((0, 0), (0, 0), (3, 3), (3, 3)), constant_values=50.0)
    for dy, dx in [(0, 0), (4, 1), (2, 3)]:
        values, shape = chain.transforms[1].values((16, 18), dy, dx)
        out = fn(x, *values)
        assert out.shape[2:] == shape == (12, 14)
        np.testing.assert_array_equal(out, padded[:, :, dy:dy + 12, dx:dx + 14])


def test_roll_jitter_is_undone_by_the_opposite_roll():
    roll = tr.Jitter(3, mode="roll")
    fn = compiled(roll)
    x = smooth_image(9, 11)
    values, shape = roll.values((9, 11), 2, -3)
    moved = fn(x, *values)
    assert shape == (9, 11) and not np.allclose(moved, x)
    np.testing.assert_array_equal(moved, np.roll(np.roll(x, 2, axis=2), -3, axis=3))
    back, _ = roll.values((9, 11), -2, 3)
    np.testing.assert_array_equal(fn(moved, *back), x)
    for _ in range(20):
        (dy, dx), _ = roll.draw((9, 11))
        assert -3 <= dy <= 3 and -3 <= dx <= 3


def test_scale_is_bilinear_and_approximately_invertible():
    m = tr.resize_matrix(20, 22)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(tr.resize_matrix(7, 7), np.eye(7, dtype=np.float32))
    scale = tr.Scale([1.1])
    fn = compiled(scale)
    x = smooth_image(40, 48)
    values, shape = scale.draw((40, 48))
    up = fn(x, *values)
    assert up.shape[2:] == shape == (44, 53)
    np.testing.assert_allclose(fn(np.full_like(x, 77.0), *values), 77.0, rtol=1e-5)
    down = [tr.resize_matrix(44, 40), tr.resize_matrix(53, 48)]
    np.testing.assert_allclose(fn(up, *down)[:, :, 2:-2, 2:-2], x[:, :, 2:-2, 2:-2],
                               atol=2.0)


def test_antialiased_shrinking_weighs_every_pixel():
    """Plain bilinear at 0.4 reads 2 of every 2.5 input columns (some get no
    gradient at all); the widened triangle reads every one, keeps a constant
    and is plain bilinear when enlarging."""
    plain, smooth = tr.resize_matrix(50, 20), tr.resize_matrix(50, 20, antialias=True)
    assert (plain.sum(axis=0) == 0).any()
    assert (smooth.sum(axis=0) > 0).all()
    np.testing.assert_allclose(smooth.sum(axis=1), 1.0, rtol=1e-6)
    assert ((smooth > 0).sum(axis=1) >= 4).all()
    np.testing.assert_array_equal(tr.resize_matrix(20, 22, antialias=True),
                                  tr.resize_matrix(20, 22))
    scale = tr.Scale([0.4], antialias=True)
    values, shape = scale.draw((40, 50))
    assert shape == (16, 20) and "antialiased" in repr(scale)
    np.testing.assert_array_equal(values[1], smooth)


def test_rotation_turns_clockwise_and_back():
    rotate = tr.Rotate([0.0], fill=tr.GREY)
    fn = compiled(rotate)
    size = 41
    x = smooth_image(size, size)
    np.testing.assert_allclose(fn(x, *rotate.values((size, size), 0.0)[0]), x, atol=1e-4)
    there = fn(x, *rotate.values((size, size), 10.0)[0])
    back = fn(there, *rotate.values((size, size), -10.0)[0])
    r, c = np.mgrid[0:size, 0:size] - (size - 1) / 2.0
    centre = r ** 2 + c ** 2 < (0.35 * size) ** 2
    assert np.abs(back - x)[:, :, centre].max() < 3.0
    # a dot above the centre moves to the right (clockwise on screen)
    dot = np.zeros((1, 3, size, size), np.float32)
    dot[:, :, 5, 20] = 255
    turned = fn(dot, *rotate.values((size, size), 20.0)[0])[0, 0]
    row, col = np.unravel_index(turned.argmax(), turned.shape)
    assert col > 20 and row > 5
    # corners that come from outside the picture get the fill colour
    corner = fn(np.zeros_like(x), *rotate.values((size, size), 45.0)[0])[0, :, 0, 0]
    np.testing.assert_allclose(corner, tr.GREY)


def test_gradient_reaches_every_pixel_through_the_standard_chain():
    chain = tr.standard(pad=4, jitter=2, jitter_after=1, seed=0)
    x, r = T.tensor4("x"), T.tensor4("r")
    y = chain.build(x)
    fn = theano.function([x, r] + chain.inputs, [y, T.grad((y * r).sum(), x)])
    image = smooth_image(32, 32)
    rng = np.random.RandomState(0)
    total = np.zeros_like(image)
    for _ in range(4):
        values, shape = chain.draw((32, 32))
        weights = rng.rand(1, 3, *shape).astype(np.float32)
        out, grad = fn(image, weights, *values)
        assert out.shape[2:] == shape and np.isfinite(grad).all()
        total += np.abs(grad)
    assert (total[:, :, 3:-3, 3:-3] > 0).all()


def test_zoom_is_the_2015_zoom_between_steps():
    profile = STREAM2015
    zoom = tr.Zoom(profile)
    chain = tr.Compose([tr.Pad(2), zoom])
    assert chain.between == [zoom] and chain.transforms[0].width == 2
    assert [s for s in range(25) if zoom.due(s)] == [0, 10, 20]
    image = smooth_image(30, 40)[0].transpose(1, 2, 0)
    np.testing.assert_array_equal(zoom.apply(image), frames.zoom(image, profile))
    with pytest.raises(ValueError):
        tr.Jitter(3, mode="wrap")

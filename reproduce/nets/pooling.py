"""Mean-pooling by an integer factor, the way the 2015 code shrank images."""


def mean_pool(x, p):
    """(N, C, H, W) -> (N, C, H//p, W//p): mean of non-overlapping p x p blocks.

    The border remainder (H mod p rows, W mod p cols) is dropped, as in the
    2015 code.  Works on numpy arrays and Theano tensors alike.
    """
    if p == 1:
        return x
    rows, cols = x.shape[2] // p, x.shape[3] // p
    x = x[:, :, :rows * p, :cols * p]
    return x.reshape((x.shape[0], x.shape[1], rows, p, cols, p)).mean(axis=(3, 5))

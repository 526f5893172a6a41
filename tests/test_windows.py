import numpy as np
import pytest

from bench.windows import Windows, apply_transform, window_label_series, window_sums


def naive(x: np.ndarray, spec: Windows, i: int) -> np.ndarray:
    """Reference: loop over windows and samples, zeros before the stream."""
    out = np.zeros((spec.n, x.shape[1]))
    for k in range(spec.n):
        end = i - spec.lag - (spec.n - 1 - k) * spec.ws  # inclusive
        for j in range(end - spec.ws + 1, end + 1):
            if 0 <= j < len(x):
                out[k] += x[j]
    return out


@pytest.mark.parametrize("ws,n,lag", [(1, 1, 0), (50, 1, 0), (7, 7, 1), (20, 5, 0), (3, 4, 2)])
def test_window_sums_match_naive_loop(ws, n, lag):
    rng = np.random.default_rng(ws * 100 + n)
    x = rng.poisson(0.3, size=(300, 6)).astype(np.float32)
    spec = Windows(ws, n, lag)
    got = window_sums(x, spec)
    assert got.shape == (300, n, 6)
    for i in range(300):
        np.testing.assert_array_equal(got[i], naive(x, spec, i))


def test_index_subset_and_transform():
    rng = np.random.default_rng(1)
    x = (rng.random((200, 4)) < 0.2).astype(np.float32)
    spec = Windows(20, 5, transform="log_softplus")
    idx = np.array([0, 5, 99, 199])
    got = window_sums(x, spec, idx)
    ref = np.stack([naive(x, Windows(20, 5), i) for i in idx])
    np.testing.assert_allclose(got, np.log(np.log1p(np.exp(ref))), rtol=1e-6)
    assert apply_transform(np.zeros(1, np.float32), "log_softplus")[0] == pytest.approx(np.log(np.log(2.0)))


def test_causal():
    rng = np.random.default_rng(2)
    x = rng.poisson(0.5, size=(120, 3)).astype(np.float32)
    spec = Windows(7, 7, 1)
    base = window_sums(x, spec)
    x2 = x.copy()
    x2[60:] += 5
    changed = window_sums(x2, spec)
    np.testing.assert_array_equal(base[:60], changed[:60])


def test_label_series_and_errors():
    labels = np.arange(20, dtype=np.float32).reshape(10, 2)
    s = window_label_series(labels, Windows(2, 3), np.array([9, 1]))
    np.testing.assert_array_equal(s[0, :, 0], [10, 14, 18])
    np.testing.assert_array_equal(s[1, :, 0], [0, 0, 2])
    with pytest.raises(ValueError):
        Windows(0, 1)
    with pytest.raises(ValueError):
        Windows(1, 1, transform="sqrt")
    with pytest.raises(IndexError):
        window_sums(np.zeros((5, 2)), Windows(1, 1), np.array([5]))


def test_buffer_start_matches_neurobench_growing_buffer():
    """NeuroBench's ANN3D/SNN3D buffer: one zero row, grows to 50 rows, windows cut from its start."""
    rng = np.random.default_rng(4)
    x = rng.poisson(0.4, size=(120, 3)).astype(np.float32)
    spec = Windows(7, 7, 1)
    got = window_sums(x, spec, buffer_start=True)
    buf = np.zeros((1, 3), np.float32)
    for i in range(120):
        buf = np.concatenate([buf, x[i:i + 1]])[-50:]
        ref = np.stack([buf[7 * k:7 * k + 7].sum(0) for k in range(7)])
        np.testing.assert_array_equal(got[i], ref)
    np.testing.assert_array_equal(got[48:], window_sums(x, spec)[48:])

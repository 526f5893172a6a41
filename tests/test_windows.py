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


def _global_cumsum_reference(x: np.ndarray, spec: Windows, idx: np.ndarray, buffer_start: bool) -> np.ndarray:
    """The one-pass formulation (float64 cumsum over the whole stream) the chunked code replaced."""
    T = x.shape[0]
    cs = np.zeros((T + 1, x.shape[1]))
    cs[1:] = np.cumsum(x, axis=0, dtype=np.float64)
    offs = (np.arange(spec.n) - (spec.n - 1)) * spec.ws - spec.lag + 1
    anchor = np.maximum(idx, spec.span - 2) if buffer_start else idx
    ends = anchor[:, None] + offs[None, :]
    starts = ends - spec.ws
    if buffer_start:
        ends = np.minimum(ends, idx[:, None] + 1)
        starts = np.minimum(starts, ends)
    ends, starts = np.clip(ends, 0, T), np.clip(starts, 0, T)
    out = (cs[ends] - cs[starts]).astype(np.float32)
    if spec.transform:
        out = np.log(np.logaddexp(0.0, out)).astype(np.float32)
    return out


@pytest.mark.parametrize("buffer_start", [False, True])
@pytest.mark.parametrize("spec", [Windows(7, 7, 1), Windows(20, 5, transform="log_softplus"), Windows(50, 1)])
def test_chunked_compact_input_equals_one_pass(monkeypatch, spec, buffer_start):
    """uint8 counts, many small chunks, unsorted and repeated indices: bit-identical results."""
    import bench.windows as w

    monkeypatch.setattr(w, "CHUNK_BYTES", 1)  # 256-sample chunks
    rng = np.random.default_rng(5)
    counts = rng.poisson(0.4, size=(3000, 5)).astype(np.uint8)
    idx = np.concatenate([rng.permutation(3000)[:1700], [0, 0, 2999]])
    ref = _global_cumsum_reference(counts.astype(np.float32), spec, idx, buffer_start)
    got = window_sums(counts, spec, idx, buffer_start=buffer_start)
    assert got.dtype == np.float32 and got.shape == (idx.size, spec.n, 5)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(window_sums(counts.astype(np.float32), spec, idx, buffer_start=buffer_start), ref)


def test_memory_of_window_sums_does_not_hold_the_stream_in_float64():
    """Besides the output, scratch memory is bounded by the chunk size, not by T."""
    import tracemalloc

    x = np.zeros((400_000, 96), dtype=np.uint8)  # 38 MB of counts; float64 cumsum would be 307 MB
    x[::97, 3] = 1
    tracemalloc.start()
    out = window_sums(x, Windows(50, 1), np.arange(0, 400_000, 10))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.nbytes == 40_000 * 96 * 4
    assert peak < out.nbytes + 3 * (1 << 24) + (1 << 20), peak


@pytest.mark.parametrize("dtype,top", [(np.uint8, 3), (np.uint16, 900), (np.bool_, 1)])
def test_transform_lookup_is_bit_identical_to_elementwise(monkeypatch, dtype, top):
    """Integer window sums take their transform from a table: the same bits as computing it."""
    import bench.windows as w

    rng = np.random.default_rng(9)
    counts = rng.integers(0, top + 1, size=(2000, 7)).astype(dtype)
    spec = Windows(20, 5, transform="log_softplus")
    got = window_sums(counts, spec)
    monkeypatch.setattr(w, "MAX_TABLE", 0)  # no table: elementwise
    ref = window_sums(counts, spec)
    assert np.array_equal(got.view(np.uint32), ref.view(np.uint32))
    plain = window_sums(counts, Windows(20, 5))
    assert np.array_equal(ref.view(np.uint32), apply_transform(plain, "log_softplus").view(np.uint32))

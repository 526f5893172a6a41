"""CI R2 gate: every registered row, quick config, seed 0, on the gate sessions, must not fall
more than the stated tolerance below tests/gate_reference.json (`python -m bench gate --update`)."""

import pytest

from bench import gate, registry

registry.discover()
ROWS = [e.row_id(v) for e in registry.entries() for v in e.variant_names()]


@pytest.fixture(scope="module")
def measured():
    return gate.measure()


@pytest.fixture(scope="module")
def reference():
    ref = gate.load_reference()
    assert ref, f"missing {gate.REFERENCE}: run `python -m bench gate --update` and commit it"
    return ref


@pytest.mark.parametrize("row", ROWS)
def test_row_does_not_regress(row, measured, reference):
    problems = gate.check({row: measured[row]}, reference)
    assert not problems, problems[0]


def test_check_flags_regressions_and_missing_rows():
    ref = {"rows": {"a": 0.5, "b": 0.5}}
    assert gate.check({"a": 0.49, "b": 0.5 - gate.TOLERANCE - 1e-3}, ref) == [f"b: {0.5 - gate.TOLERANCE - 1e-3:.4f} fell more than {gate.TOLERANCE} below the reference 0.5000"]
    assert "no reference" in gate.check({"c": 0.9}, ref)[0]
    assert "boom" in gate.check({"a": "error: train: boom"}, ref)[0]

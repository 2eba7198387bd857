"""Dependency warnings do not leak: qiskit's fake_nighthawk note is said once, in our words."""

from __future__ import annotations

import warnings

from backends import available_targets


def test_hybrid_backends_lists_nighthawk_without_a_qiskit_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = available_targets()
    assert not [w for w in caught if "not intended to represent" in str(w.message)]
    nighthawk = [r for r in rows if r["spec"] == "fake:nighthawk"]
    assert nighthawk and "not typical of the real device" in nighthawk[0]["what"]

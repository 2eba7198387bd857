"""Targets declare what they can do; the declaration is checked when a target is built."""

from __future__ import annotations

import pytest

from backends import TargetError, get_target, load_fake_backend
from backends.capabilities import Capability, check_capabilities, declared, require, supports
from backends.ibm import IBMTarget

C = Capability
EXPECTED = {
    "ideal": {C.EXACT_PROBABILITIES, C.ISA_EXECUTION},
    "aer": {C.ISA_EXECUTION},
    "fake:manila": {C.EXACT_PROBABILITIES, C.EXACT_ISA, C.ISA_EXECUTION, C.CALIBRATION, C.NOISY_CONES, C.QPU_USAGE},
    "local:manila": {C.ISA_EXECUTION, C.CALIBRATION, C.SESSIONS, C.QPU_USAGE},
}


@pytest.mark.parametrize("spec", sorted(EXPECTED))
def test_built_in_targets_declare_their_capabilities(spec):
    target = get_target(spec)
    assert declared(target) == EXPECTED[spec]
    assert check_capabilities(target) is target


def test_ibm_target_declares_jobs_and_sessions():
    class Service:
        def backend(self, name):
            return load_fake_backend("manila")

    target = check_capabilities(IBMTarget("fake_manila", service=Service()))
    assert declared(target) == {C.ISA_EXECUTION, C.CALIBRATION, C.JOBS, C.SESSIONS, C.QPU_USAGE}
    require(target, C.JOBS, "resuming a job")


class _Base:
    spec, kind, num_qubits, noisy, exact = "stand-in", "aer", None, False, False

    def check_fits(self, n):
        return None

    def isa_circuit(self, circuit):
        return circuit

    def sample(self, circuit, values, shots, seed=None):
        raise NotImplementedError

    def describe(self):
        return {}


def test_a_declared_capability_without_its_methods_is_refused():
    class ClaimsJobs(_Base):
        capabilities = frozenset({C.JOBS})

        def submit(self, circuit, values, shots):
            return "id"

    with pytest.raises(TargetError, match=r"ClaimsJobs does not implement fetch \(jobs\), status \(jobs\), submit_isa \(jobs\)"):
        check_capabilities(ClaimsJobs())


def test_a_target_without_a_declaration_or_target_methods_is_refused():
    with pytest.raises(TargetError, match="capabilities must be a frozenset"):
        check_capabilities(type("Undeclared", (_Base,), {})())

    class NoSample:
        spec, kind, num_qubits, noisy, exact = "x", "aer", None, False, False
        capabilities = frozenset()

    with pytest.raises(TargetError, match="does not implement check_fits, isa_circuit, sample, describe"):
        check_capabilities(NoSample())


def test_capabilities_are_inherited_and_require_names_the_fix():
    class Plain(_Base):
        capabilities = frozenset({C.ISA_EXECUTION})

        def run_isa(self, circuits, shots, seed=None):
            return None

    class Child(Plain):
        pass

    assert supports(Child(), C.ISA_EXECUTION) and not supports(Child(), C.JOBS)
    with pytest.raises(TargetError, match="mitigation needs exact_isa, which 'stand-in' does not offer; pass shots"):
        require(Child(), C.EXACT_ISA, "mitigation", "pass shots")

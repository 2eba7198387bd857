"""Couplers and qubits a device marks broken, and the transpiler target without them.

The rule, read from the backend itself (its transpiler ``Target`` and, where it has them,
its ``BackendProperties``):

* a **coupler** (an unordered pair of qubits) is broken when any two-qubit gate on it has
  error ``>= BROKEN_GATE_ERROR`` (1.0: the gate does nothing useful) or the properties
  list it in ``faulty_gates()``;
* a **qubit** is broken when its readout (``measure``) error is ``>= BROKEN_READOUT_ERROR``
  (0.5: a coin would do as well), any one-qubit gate on it has error ``>= 1``, or the
  properties list it in ``faulty_qubits()``.

FakeTorino: 11 couplers with CZ error 1.0, (15,19) (19,20) (21,34) (57,58) (58,59) (74,86)
(85,86) (86,87) (96,97) (97,98) (97,110), and qubit 86 (readout 0.57). FakeFez: 7
couplers, no qubit. The **healthy coupling graph** drops the broken couplers and every
coupler of a broken qubit; :func:`healthy_target` is the transpiler target without those
couplers, so no layout or routing uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: A two-qubit (or one-qubit) gate with at least this error is broken.
BROKEN_GATE_ERROR = 1.0
#: A qubit whose readout error is at least this is broken.
BROKEN_READOUT_ERROR = 0.5


@dataclass(frozen=True)
class BrokenHardware:
    """The broken couplers (sorted pairs) and qubits of one backend."""

    couplers: tuple[tuple[int, int], ...]
    qubits: tuple[int, ...]

    def excludes(self, a: int, b: int) -> bool:
        """Whether the coupler ``(a, b)`` is out of the healthy coupling graph."""
        return (min(a, b), max(a, b)) in set(self.couplers) or a in self.qubits or b in self.qubits

    def to_dict(self) -> dict[str, Any]:
        return {"couplers": [list(c) for c in self.couplers], "qubits": list(self.qubits)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BrokenHardware":
        return cls(tuple(tuple(int(q) for q in c) for c in data["couplers"]), tuple(int(q) for q in data["qubits"]))


def _properties(backend: Any) -> Any:
    try:
        return backend.properties()
    except (AttributeError, TypeError, NotImplementedError):
        return None


# id(backend) -> (backend, BrokenHardware, healthy target): reading the properties takes ~0.5-1 s
_CACHE: dict[int, tuple[Any, BrokenHardware, Any]] = {}


def broken_hardware(backend: Any) -> BrokenHardware:
    """The couplers and qubits ``backend`` marks broken (see the module docstring); cached per backend object."""
    hit = _CACHE.get(id(backend))
    if hit is not None and hit[0] is backend:
        return hit[1]
    broken = _find_broken(backend)
    _CACHE[id(backend)] = (backend, broken, None)
    return broken


def _find_broken(backend: Any) -> BrokenHardware:
    target = backend.target
    couplers: set[tuple[int, int]] = set()
    qubits: set[int] = set()
    for name in target.operation_names:
        props = target[name]
        if not props or None in props:
            continue
        for qargs, p in props.items():
            error = None if p is None else p.error
            if qargs is None or error is None:
                continue
            if name == "measure" and len(qargs) == 1 and error >= BROKEN_READOUT_ERROR:
                qubits.add(int(qargs[0]))
            elif error >= BROKEN_GATE_ERROR and len(qargs) == 1:
                qubits.add(int(qargs[0]))
            elif error >= BROKEN_GATE_ERROR and len(qargs) == 2:
                couplers.add((min(map(int, qargs)), max(map(int, qargs))))
    properties = _properties(backend)
    if properties is not None:
        qubits.update(int(q) for q in properties.faulty_qubits())
        for gate in properties.faulty_gates():
            qs = [int(q) for q in gate.qubits]
            if len(qs) == 2:
                couplers.add((min(qs), max(qs)))
            elif len(qs) == 1:
                qubits.add(qs[0])
    return BrokenHardware(tuple(sorted(couplers)), tuple(sorted(qubits)))


def healthy_edges(backend: Any, broken: BrokenHardware | None = None) -> list[tuple[int, int]]:
    """The coupling map's couplers (sorted pairs, each once) without broken ones or those of broken qubits."""
    broken = broken_hardware(backend) if broken is None else broken
    pairs = {(min(a, b), max(a, b)) for a, b in backend.coupling_map.get_edges() if a != b}
    return sorted(e for e in pairs if not broken.excludes(*e))


def healthy_target(backend: Any) -> Any:
    """``backend.target`` without the broken couplers and the couplers of broken qubits.

    One-qubit gates and measurements stay everywhere (a broken qubit is left isolated,
    not removed, so qubit indices keep their meaning). Returns ``backend.target`` itself
    when nothing is broken.
    """
    from qiskit.transpiler import Target

    broken = broken_hardware(backend)
    target = backend.target
    if not broken.couplers and not broken.qubits:
        return target
    cached = _CACHE[id(backend)][2]
    if cached is not None:
        return cached
    new = Target(
        description=target.description, num_qubits=target.num_qubits, dt=target.dt,
        granularity=target.granularity, min_length=target.min_length, pulse_alignment=target.pulse_alignment,
        acquire_alignment=target.acquire_alignment, qubit_properties=target.qubit_properties,
        concurrent_measurements=target.concurrent_measurements,
    )
    for name in target.operation_names:
        op = target.operation_from_name(name)
        props = target[name]
        if isinstance(op, type):  # a control-flow class, allowed everywhere
            new.add_instruction(op, name=name)
        elif props is None or None in props:
            new.add_instruction(op, {None: None}, name=name)
        else:
            keep = {qa: p for qa, p in props.items() if len(qa) != 2 or not broken.excludes(*qa)}
            new.add_instruction(op, keep, name=name)
    _CACHE[id(backend)] = (backend, broken, new)
    return new

"""Sequence models and their statevector simulator (hybrid.models).

Every quantum layer is checked against the same circuit built in Qiskit and run
with ``qiskit.quantum_info.Statevector`` (float64); the circuits here are written
from the docstrings of ``hybrid.models.circuits``, independently of the torch code.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit.library import StatePreparation
from qiskit.quantum_info import SparsePauliOp, Statevector

from hybrid.models import (
    MODEL_NAMES,
    build_model,
    circuits,
    count_parameters,
    default_config,
    qsim,
)

SEED = 1234
#: Agreement with Qiskit, float64.
ATOL_QISKIT = 1e-6
#: Agreement of two computations of the same float64 quantity in torch.
ATOL_TORCH = 1e-12
#: A quantity that must vary must vary by more than this.
MIN_VARIATION = 1e-3
#: A model output that must depend on an input must move by more than this
#: (the output heads start small, see HEAD_INIT_SCALE).
MIN_OUTPUT_CHANGE = 1e-5
#: Default-config parameter counts must lie in this range (training runs on 2 CPU cores).
PARAM_RANGE = (200, 5000)
BATCH = 6
NUM_FEATURES = 5


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(SEED)
    yield


def _gen(offset: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(SEED + offset)


# ---------------------------------------------------------------------------- Qiskit references
def ring(qc: QuantumCircuit, n: int) -> None:
    if n == 2:
        qc.cx(0, 1)
    elif n > 2:
        for i in range(n):
            qc.cx(i, (i + 1) % n)


def qiskit_feature_map(a: np.ndarray, w: np.ndarray) -> Statevector:
    n = len(a)
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.ry(a[q], q)
    for layer in range(w.shape[0]):
        ring(qc, n)
        for q in range(n):
            qc.ry(w[layer, q, 0], q)
            qc.rz(w[layer, q, 1], q)
            qc.ry(a[q], q)
    return Statevector(qc)


def qiskit_vqc(v: np.ndarray, w: np.ndarray) -> Statevector:
    n = len(v)
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.h(q)
        qc.ry(math.atan(v[q]), q)
        qc.rz(math.atan(v[q] ** 2), q)
    for layer in range(w.shape[0]):
        ring(qc, n)
        for q in range(n):
            qc.rz(w[layer, q, 0], q)
            qc.ry(w[layer, q, 1], q)
            qc.rx(w[layer, q, 2], q)
    return Statevector(qc)


def z_values(sv: Statevector) -> np.ndarray:
    n = sv.num_qubits
    return np.array([sv.expectation_value(SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], n)).real for q in range(n)])


def np64(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


# ---------------------------------------------------------------------------- qsim primitives
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_random_gate_sequence_matches_qiskit(n):
    rng = np.random.default_rng(SEED + n)
    ops = []
    for _ in range(12):
        kind = rng.choice(["rx", "ry", "rz", "cx", "ring"] if n > 1 else ["rx", "ry", "rz"])
        if kind == "cx":
            c, t = rng.choice(n, size=2, replace=False)
            ops.append(("cx", int(c), int(t)))
        elif kind == "ring":
            ops.append(("ring",))
        else:
            ops.append((kind, int(rng.integers(n)), rng.uniform(-2 * math.pi, 2 * math.pi, size=2)))
    state = qsim.zero_state(n, (2,), dtype=torch.float64)
    qcs = [QuantumCircuit(n), QuantumCircuit(n)]
    for op in ops:
        if op[0] == "cx":
            state = qsim.cnot(state, op[1], op[2])
            for qc in qcs:
                qc.cx(op[1], op[2])
        elif op[0] == "ring":
            state = qsim.cnot_ring(state)
            for qc in qcs:
                ring(qc, n)
        else:
            kind, q, angles = op
            state = getattr(qsim, kind)(state, torch.tensor(angles, dtype=torch.float64), q)
            for qc, angle in zip(qcs, angles):
                getattr(qc, kind)(angle, q)
    for b, qc in enumerate(qcs):
        np.testing.assert_allclose(np64(state[b]), Statevector(qc).data, atol=ATOL_QISKIT)
    np.testing.assert_allclose(np64(qsim.z_expectations(state[0])), z_values(Statevector(qcs[0])), atol=ATOL_QISKIT)


def test_ring_pairs():
    assert qsim.ring_pairs(1) == ()
    assert qsim.ring_pairs(2) == ((0, 1),)
    assert qsim.ring_pairs(4) == ((0, 1), (1, 2), (2, 3), (3, 0))


def test_apply_layer_and_broadcasting():
    n = 3
    angles = torch.rand(4, 2, n, generator=_gen(), dtype=torch.float64) * 6
    batched = qsim.apply_layer(qsim.zero_state(n, dtype=torch.float64), qsim.rx_matrix(angles))
    assert batched.shape == (4, 2, 2**n)
    for i in range(4):
        qc = QuantumCircuit(n)
        for q in range(n):
            qc.rx(float(angles[i, 1, q]), q)
        np.testing.assert_allclose(np64(batched[i, 1]), Statevector(qc).data, atol=ATOL_QISKIT)


@pytest.mark.parametrize("rotation", ["rx", "ry", "rz"])
def test_angle_encoding_matches_qiskit(rotation):
    n = 4
    x = torch.rand(3, n, generator=_gen(), dtype=torch.float64) * 4 - 2
    states = qsim.angle_encoding(x, rotation)
    for b in range(3):
        qc = QuantumCircuit(n)
        for q in range(n):
            getattr(qc, rotation)(float(x[b, q]), q)
        np.testing.assert_allclose(np64(states[b]), Statevector(qc).data, atol=ATOL_QISKIT)


def test_amplitude_encoding_matches_qiskit():
    x = torch.randn(2, 6, generator=_gen(), dtype=torch.float64)  # padded to 8 amplitudes, 3 qubits
    states = qsim.amplitude_encoding(x)
    assert states.shape == (2, 8)
    for b in range(2):
        vec = np.concatenate([np64(x[b]), np.zeros(2)])
        qc = QuantumCircuit(3)
        qc.append(StatePreparation(vec / np.linalg.norm(vec)), range(3))
        np.testing.assert_allclose(np64(states[b]), Statevector(qc).data, atol=ATOL_QISKIT)
    with pytest.raises(ValueError, match="do not fit"):
        qsim.amplitude_encoding(x, n_qubits=2)


def test_overlaps_match_qiskit():
    a = qsim.amplitude_encoding(torch.randn(3, 8, dtype=torch.complex128, generator=_gen()))
    b = qsim.amplitude_encoding(torch.randn(2, 8, dtype=torch.complex128, generator=_gen(1)))
    fid = qsim.fidelity_matrix(a, b)
    for i in range(3):
        for j in range(2):
            ref = abs(Statevector(np64(a[i])).inner(Statevector(np64(b[j])))) ** 2
            assert abs(float(fid[i, j]) - ref) < ATOL_QISKIT
            assert abs(float(qsim.overlap(a[i], b[j])) - ref) < ATOL_QISKIT


def test_qsim_errors():
    with pytest.raises(ValueError, match="power of 2"):
        qsim.num_qubits(torch.zeros(3, dtype=torch.complex64))
    with pytest.raises(ValueError, match="qubit must be in"):
        qsim.rx(qsim.zero_state(2), torch.tensor(0.1), 2)
    with pytest.raises(ValueError, match="distinct qubits"):
        qsim.cnot(qsim.zero_state(2), 1, 1)
    with pytest.raises(ValueError, match="rotation must be one of"):
        qsim.angle_encoding(torch.zeros(2), "rq")


# ---------------------------------------------------------------------------- circuits
@pytest.mark.parametrize("n,layers", [(1, 1), (2, 2), (3, 1), (4, 2)])
def test_feature_map_matches_qiskit(n, layers):
    a = torch.rand(3, n, generator=_gen(), dtype=torch.float64) * 6 - 3
    w = torch.rand(layers, n, 2, generator=_gen(1), dtype=torch.float64) * 6 - 3
    states = circuits.feature_map_state(a, w)
    for b in range(3):
        np.testing.assert_allclose(np64(states[b]), qiskit_feature_map(np64(a[b]), np64(w)).data, atol=ATOL_QISKIT)


@pytest.mark.parametrize("n,layers", [(1, 1), (2, 1), (3, 2), (4, 2)])
def test_vqc_matches_qiskit(n, layers):
    v = torch.randn(3, n, generator=_gen(), dtype=torch.float64) * 2
    w = torch.rand(layers, n, 3, generator=_gen(1), dtype=torch.float64) * 6 - 3
    states = circuits.vqc_state(v, w)
    z = circuits.vqc_expectations(v, w)
    for b in range(3):
        sv = qiskit_vqc(np64(v[b]), np64(w))
        np.testing.assert_allclose(np64(states[b]), sv.data, atol=ATOL_QISKIT)
        np.testing.assert_allclose(np64(z[b]), z_values(sv), atol=ATOL_QISKIT)


def test_circuit_gradients_gradcheck():
    v = torch.randn(2, 3, dtype=torch.float64, generator=_gen(), requires_grad=True)
    w = torch.randn(2, 3, 3, dtype=torch.float64, generator=_gen(1), requires_grad=True)
    assert torch.autograd.gradcheck(circuits.vqc_expectations, (v, w))
    a = torch.randn(2, 1, 3, dtype=torch.float64, generator=_gen(2), requires_grad=True)
    r = torch.randn(1, 2, 3, dtype=torch.float64, generator=_gen(3), requires_grad=True)
    wk = torch.randn(1, 1, 3, 2, dtype=torch.float64, generator=_gen(4), requires_grad=True)
    assert torch.autograd.gradcheck(circuits.kernel_matrix, (a, r, wk))


# ---------------------------------------------------------------------------- the models' quantum layers
def _inputs(model, batch=BATCH, gen_offset=0, dtype=torch.float64):
    g = _gen(100 + gen_offset)
    prev = torch.randn(batch, 2 * model.p, generator=g, dtype=dtype)
    cost = torch.rand(batch, 1, generator=g, dtype=dtype)
    feats = torch.rand(batch, model.num_features, generator=g, dtype=dtype) if model.num_features else None
    return prev, cost, feats


def test_qk_lstm_kernel_is_qiskit_fidelity_and_varies():
    model = build_model("qk_lstm", {"num_features": NUM_FEATURES}).double()
    v = torch.randn(5, model.input_size + model.hidden, generator=_gen(), dtype=torch.float64)
    with torch.no_grad():
        k = model.kernel(v)
    assert k.shape == (5, 4, model.n_refs)
    angles = np64(model.angles(v))
    refs, weights = np64(model.refs), np64(model.circuit_weights)
    for b in range(5):
        for g in range(4):
            phi_x = qiskit_feature_map(angles[b, g], weights[g])
            for j in range(model.n_refs):
                phi_r = qiskit_feature_map(refs[g, j], weights[g])
                assert abs(float(k[b, g, j]) - abs(phi_x.inner(phi_r)) ** 2) < ATOL_QISKIT
    # Not an identity circuit: the kernel varies with the input, for every gate and reference ...
    assert (k.std(dim=0) > MIN_VARIATION).all()
    # ... and it is 1 exactly where the input is a reference point.
    at_refs = circuits.kernel_matrix(model.refs.detach().transpose(0, 1), model.refs, model.circuit_weights)
    diag = torch.diagonal(at_refs, dim1=0, dim2=2)  # (G, K)
    np.testing.assert_allclose(np64(diag), 1.0, atol=ATOL_TORCH)
    # The circuit weights shape the kernel.
    with torch.no_grad():
        model.circuit_weights.add_(0.5)
        assert (model.kernel(v) - k).abs().max() > MIN_VARIATION


def test_qlstm_circuits_match_qiskit():
    model = build_model("qlstm", {"num_features": NUM_FEATURES}).double()
    v = torch.randn(4, model.input_size + model.hidden, generator=_gen(), dtype=torch.float64)
    z = model.expectations(v)
    u = np64(model.proj(v).view(4, 4, model.n_qubits))
    weights = np64(model.circuit_weights)
    for b in range(4):
        for g in range(4):
            np.testing.assert_allclose(np64(z[b, g]), z_values(qiskit_vqc(u[b, g], weights[g])), atol=ATOL_QISKIT)
    assert "circuit_weights" in model.state_dict()


def test_qfwp_circuit_matches_qiskit():
    model = build_model("qfwp", {"num_features": NUM_FEATURES, "p": 2}).double()
    prev, cost, feats = _inputs(model, batch=3)
    p1, s1 = model(prev, cost, feats, model.initial_state(3))
    _, (fast2, z2) = model(p1, cost, feats, s1)  # second step: fast weights programmed twice
    enc = np64(model.encoder(torch.cat([p1, cost, feats], 1)))
    for b in range(3):
        np.testing.assert_allclose(np64(z2[b]), z_values(qiskit_vqc(enc[b], np64(fast2[b]))), atol=ATOL_QISKIT)


# ---------------------------------------------------------------------------- interface
@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("p", [1, 3])
@pytest.mark.parametrize("num_features", [0, NUM_FEATURES])
def test_shapes_and_gradients_reach_every_parameter(name, p, num_features):
    model = build_model(name, {"p": p, "num_features": num_features})
    prev, cost, feats = _inputs(model, dtype=torch.float32)
    state = model.initial_state(BATCH)
    loss = 0.0
    for _ in range(2):  # two steps, so the recurrent inputs (h, fast weights) carry gradient too
        prev, state = model(prev, cost, feats, state)
        assert prev.shape == (BATCH, 2 * p) and prev.dtype == torch.float32
        assert all(s.shape[0] == BATCH for s in state)
        loss = loss + (prev**2).sum()
    loss.backward()
    names = [n for n, _ in model.named_parameters()]
    assert names, "model has no parameters"
    dead = [n for n, prm in model.named_parameters() if prm.grad is None or not torch.isfinite(prm.grad).all()
            or prm.grad.abs().sum() == 0]
    assert not dead, f"{name}: no gradient reaches {dead}"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_is_prev_plus_input_dependent_step(name):
    model = build_model(name, {"num_features": NUM_FEATURES}).double()
    prev, cost, feats = _inputs(model)
    out1, _ = model(prev, cost, feats, None)
    out2, _ = model(prev, cost.flip(0), feats, None)
    out3, _ = model(prev, cost, feats.flip(0), None)
    assert (out1 - out2).abs().max() > MIN_OUTPUT_CHANGE
    assert (out1 - out3).abs().max() > MIN_OUTPUT_CHANGE
    # state=None is the initial state
    out4, _ = model(prev, cost, feats, model.initial_state(BATCH))
    assert torch.equal(out1, out4)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_float64(name):
    model = build_model(name, {"p": 2}).double()
    prev, cost, _ = _inputs(model)
    out, state = model(prev, cost, None, model.initial_state(BATCH))
    assert out.dtype == torch.float64 and all(s.dtype == torch.float64 for s in state)


def test_qfwp_fast_weights_persist_and_reset():
    model = build_model("qfwp", {"num_features": NUM_FEATURES}).double()
    prev, cost, feats = _inputs(model)
    s0 = model.initial_state(BATCH)
    p1, s1 = model(prev, cost, feats, s0)
    p2, s2 = model(p1, cost, feats, s1)
    fast0, fast1, fast2 = s0[0], s1[0], s2[0]
    assert fast1.shape == (BATCH, model.n_layers, model.n_qubits, 3)
    assert (fast1 - fast0).abs().max() > MIN_VARIATION
    assert (fast2 - fast1).abs().max() > MIN_VARIATION
    # Additive update on top of the previous fast weights (decay = 1 by default).
    x2 = torch.cat([p1, cost, feats], 1)
    np.testing.assert_allclose(np64(fast2), np64(fast1 + model.program(x2, s1[1])), atol=ATOL_TORCH)
    # The persisted fast weights matter: the same step from the initial state differs.
    p2_fresh, _ = model(p1, cost, feats, model.initial_state(BATCH))
    assert (p2 - p2_fresh).abs().max() > MIN_OUTPUT_CHANGE
    # initial_state resets to the trained initial fast weights.
    reset = model.initial_state(BATCH)
    for a, b in zip(reset, s0):
        assert torch.equal(a, b)
    assert torch.equal(reset[0][0], model.initial_fast_weights)


def test_qfwp_decay():
    model = build_model("qfwp", {"decay": 0.5}).double()
    prev, cost, _ = _inputs(model)
    s0 = model.initial_state(BATCH)
    _, s1 = model(prev, cost, None, s0)
    x = torch.cat([prev, cost], 1)
    np.testing.assert_allclose(np64(s1[0]), np64(0.5 * s0[0] + model.program(x, s0[1])), atol=ATOL_TORCH)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_config_and_state_dict(name):
    model = build_model(name, {"p": 2, "num_features": 3, "hidden": 8})
    with torch.no_grad():
        for prm in model.parameters():
            prm.add_(0.01 * torch.randn(prm.shape, generator=_gen()))
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    config = json.loads(json.dumps(model.config))
    clone = build_model(model.name, config)
    clone.load_state_dict(torch.load(buf, weights_only=True))
    assert clone.config == model.config
    prev, cost, feats = _inputs(model, dtype=torch.float32)
    sa, sb = model.initial_state(BATCH), clone.initial_state(BATCH)
    for _ in range(2):
        pa, sa = model(prev, cost, feats, sa)
        pb, sb = clone(prev, cost, feats, sb)
        assert torch.equal(pa, pb)
        prev = pa


def test_bad_names_and_configs():
    with pytest.raises(ValueError, match="unknown model name 'gru'"):
        build_model("gru", {})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['hiden'\]"):
        build_model("lstm", {"hiden": 4})
    with pytest.raises(ValueError, match="unknown key"):
        build_model("lstm", {"n_qubits": 4})  # a quantum key on the classical model
    with pytest.raises(ValueError, match=r"'p' must be in \[1, inf\]"):
        build_model("qlstm", {"p": 0})
    with pytest.raises(ValueError, match="'hidden' must be an integer"):
        build_model("qk_lstm", {"hidden": "16"})
    with pytest.raises(ValueError, match="'n_qubits' must be in"):
        build_model("qk_lstm", {"n_qubits": 11})
    with pytest.raises(ValueError, match="'decay' must be in"):
        build_model("qfwp", {"decay": 0.0})
    with pytest.raises(ValueError, match="config must be a dict"):
        build_model("lstm", [("p", 1)])
    with pytest.raises(ValueError, match="unknown model name"):
        default_config("transformer")


def test_bad_inputs():
    model = build_model("qk_lstm", {"p": 1, "num_features": 2})
    prev, cost, feats = _inputs(model, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"prev_params must be a \(batch, 2p = 2\)"):
        model(torch.zeros(BATCH, 3), cost, feats, None)
    with pytest.raises(ValueError, match="prev_cost must be a"):
        model(prev, cost.squeeze(1), feats, None)
    with pytest.raises(ValueError, match="features must be a"):
        model(prev, cost, None, None)
    with pytest.raises(ValueError, match="cast the inputs"):
        model(prev.double(), cost.double(), feats.double(), None)
    with pytest.raises(ValueError, match="features must be None"):
        build_model("lstm")(prev, cost, feats, None)
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        model.initial_state(0)


def test_parameter_counts_at_default_config():
    counts = {name: count_parameters(build_model(name, {})) for name in MODEL_NAMES}
    print("parameter counts at the default config:", counts)
    for name, count in counts.items():
        assert PARAM_RANGE[0] <= count <= PARAM_RANGE[1], (name, count)
    assert count_parameters(build_model("lstm", {})) == sum(p.numel() for p in build_model("lstm").parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_cuda(name):
    model = build_model(name, {"num_features": 2}).to("cuda")
    prev, cost, feats = (t.cuda() for t in _inputs(model, dtype=torch.float32))
    out, state = model(prev, cost, feats, model.initial_state(BATCH))
    out.sum().backward()
    assert out.device.type == "cuda" and all(s.device.type == "cuda" for s in state)

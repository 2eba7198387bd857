"""Qiskit Runtime targets: local testing mode on a fake device, and real IBM QPUs.

Both run a parameter batch as **one** Sampler PUB ``(isa_circuit, parameter_values)``
through the executor-based Sampler (``qiskit_ibm_runtime.executor_sampler.Sampler``),
and report counts per parameter point keyed by an integer outcome whose bit ``i`` is
clbit ``i`` of the logical circuit.

``local:<device>`` (:class:`backends.local.LocalRuntimeTarget`)
    Runtime local mode, in :mod:`backends.local` (it shares the helpers below).

``ibm:<backend>`` (:class:`IBMTarget`)
    A real QPU through ``QiskitRuntimeService``. Credentials come only from the saved
    account (``QiskitRuntimeService.save_account(...)``) or from the environment
    variables that qiskit-ibm-runtime itself reads:

    ``QISKIT_IBM_TOKEN``     API key (used instead of a saved account when set and non-empty)
    ``QISKIT_IBM_INSTANCE``  instance CRN or name, used together with ``QISKIT_IBM_TOKEN``
    ``QISKIT_IBM_CHANNEL``   ``ibm_quantum_platform`` (default) or ``ibm_cloud``
    ``QISKIT_IBM_URL``       API base URL, used together with ``QISKIT_IBM_TOKEN``

    The token is never read into this module's state, printed, logged, or put in a
    ``repr``/``describe()``; every error coming from the service is re-raised as a
    :class:`~backends.base.TargetError` whose message has any known token scrubbed.
    Hardware sampling is not seedable; ``seed`` is accepted and ignored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
from qiskit import QuantumCircuit

from .capabilities import Capability
from .base import (
    SampleResult,
    TargetError,
    as_circuit_list,
    as_parameter_batch,
    check_isa,
    check_shots,
    circuit_fingerprint,
    measured_qubits_by_clbit,
)
from .devices import load_fake_backend
from .transpile import active_and_two_qubit, check_options, transpile_trials

logger = logging.getLogger(__name__)

__all__ = [
    "CREDENTIAL_ENV_VARS",
    "IBMTarget",
    "CredentialsError",
    "JobFailedError",
    "LocalRuntimeTarget",
    "ServiceUnreachableError",
    "UnknownBackendError",
    "classify_service_error",
    "is_session_closed",
    "is_transient",
]

TOKEN_ENV = "QISKIT_IBM_TOKEN"
INSTANCE_ENV = "QISKIT_IBM_INSTANCE"
CHANNEL_ENV = "QISKIT_IBM_CHANNEL"
URL_ENV = "QISKIT_IBM_URL"
CREDENTIAL_ENV_VARS = (TOKEN_ENV, INSTANCE_ENV, CHANNEL_ENV, URL_ENV)
CHANNELS = ("ibm_quantum_platform", "ibm_cloud")

FINAL_STATUSES = ("DONE", "ERROR", "CANCELLED")
FAILED_STATUSES = ("ERROR", "CANCELLED")
TRANSIENT_HTTP_CODES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
DEFAULT_LAYOUT_TRIALS = 4
REDACTED = "<redacted>"

CREDENTIALS_HELP = (
    "save an account once with `from qiskit_ibm_runtime import QiskitRuntimeService; "
    "QiskitRuntimeService.save_account(token=<API key>, instance=<CRN>, set_as_default=True)`, "
    f"or set {TOKEN_ENV} (and {INSTANCE_ENV}; optionally {CHANNEL_ENV}={CHANNELS[0]})"
)


class JobFailedError(TargetError):
    """A Runtime job that ended in ERROR or CANCELLED; ``job_id`` names it."""

    def __init__(self, message: str, job_id: str, status: str):
        super().__init__(message)
        self.job_id = job_id
        self.status = status


# --------------------------------------------------------------------------- helpers


def _clbit_order(circuit: QuantumCircuit) -> list[int]:
    """Clbit index of each bit in the Sampler's register concatenation order.

    The Sampler returns one ``BitArray`` per classical register, in ``circuit.cregs``
    order; ``join_data`` puts the first register in the least significant bits.
    """
    if circuit.num_clbits == 0:
        raise TargetError(
            "circuit has no classical bits; measure qubit i into clbit i before sampling"
        )
    order = [circuit.find_bit(bit).index for reg in circuit.cregs for bit in reg]
    if sorted(order) != list(range(circuit.num_clbits)):
        raise TargetError(
            "every clbit must belong to exactly one ClassicalRegister; build the circuit "
            "with QuantumCircuit(n, n) or add a register covering all measured bits"
        )
    return order


def _bits_to_ints(bools: np.ndarray, order: list[int]) -> list[int]:
    """Integer outcomes from a ``(shots, num_bits)`` little-endian bool array."""
    if max(order, default=0) < 63:
        weights = np.array([1 << k for k in order], dtype=np.uint64)
        return (bools.astype(np.uint64) @ weights).tolist()
    out = []
    for row in bools:
        out.append(sum(1 << order[j] for j in np.flatnonzero(row)))
    return out


def counts_from_pub_result(
    pub_result: Any, num_points: int | None = None, clbit_order: list[int] | None = None
) -> tuple[tuple[dict[int, int], ...], int]:
    """Counts per parameter point from a Sampler PUB result, keyed in logical clbit order.

    ``clbit_order`` is :func:`_clbit_order` of the circuit that ran; ``None`` assumes
    the registers are laid out in clbit order (true for ``QuantumCircuit(n, n)``).
    Returns ``(counts, shots)``.
    """
    from qiskit.primitives import BitArray

    data = pub_result.data
    arrays = [value for _, value in data.items() if isinstance(value, BitArray)]
    if not arrays:
        raise TargetError("the Sampler result holds no measured bits; measure into clbits")
    bits = arrays[0] if len(arrays) == 1 else BitArray.concatenate_bits(arrays)
    points = int(np.prod(bits.shape)) if bits.shape else 1
    bits = bits.reshape(points)
    if num_points is not None and points != num_points:
        raise TargetError(
            f"the Sampler returned {points} parameter points but {num_points} were submitted"
        )
    identity = clbit_order is None or clbit_order == list(range(bits.num_bits))
    counts = []
    if identity:
        for b in range(points):
            counts.append({int(k): int(v) for k, v in bits.get_int_counts(b).items()})
    else:
        bools = bits.to_bool_array(order="little")
        for b in range(points):
            values, freq = np.unique(
                np.asarray(_bits_to_ints(bools[b], clbit_order), dtype=object), return_counts=True
            )
            counts.append({int(k): int(v) for k, v in zip(values, freq)})
    return tuple(counts), int(bits.num_shots)


def _physical_qubits(isa: QuantumCircuit, num_logical: int) -> list[int] | None:
    layout = isa.layout
    if layout is None:
        return None
    try:
        return [int(q) for q in layout.final_index_layout()[:num_logical]]
    except Exception:  # noqa: BLE001 - layout details are informative only
        return None


def transpile_best(
    circuit: QuantumCircuit,
    backend: Any,
    *,
    seed_transpiler: int,
    optimization_level: int,
    trials: int,
    prefer: str = "active",
) -> QuantumCircuit:
    """Best of ``trials`` seeded transpilations.

    ``prefer="active"`` ranks by (active qubits, two-qubit gates, depth): the cost of
    simulation. ``prefer="twoq"`` ranks by (two-qubit gates, depth, active qubits): the
    error budget on hardware.
    """

    def score(isa: QuantumCircuit) -> tuple:
        active, twoq = active_and_two_qubit(isa)
        depth = isa.depth()
        return (len(active), twoq, depth) if prefer == "active" else (twoq, depth, len(active))

    best, _, _ = transpile_trials(
        circuit,
        backend,
        seed_transpiler=seed_transpiler,
        optimization_level=optimization_level,
        trials=trials,
        score=score,
    )
    return best


def _merge_options(base: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """``base`` updated by ``extra``, merging nested dicts one level deep."""
    out = dict(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def backend_readout_confusion(
    backend: Any, physical_qubits, prefer_properties: bool
) -> list[np.ndarray]:
    """Per-qubit readout confusion ``m[i, k] = P(read k | prepared i)`` from calibration data.

    ``prefer_properties``: use the asymmetric ``prob_meas1_prep0``/``prob_meas0_prep1`` of
    ``backend.properties()`` when the backend reports them (real devices); otherwise, or
    when they are missing, the symmetric ``measure`` error of ``backend.target`` (the
    readout model Aer builds for fake devices). A qubit with neither gets the identity.
    """
    target = backend.target
    props = None
    if prefer_properties and hasattr(backend, "properties"):
        try:
            props = backend.properties()
        except Exception:  # noqa: BLE001 - calibration is optional; fall back to the target
            props = None
    out = []
    for q in physical_qubits:
        q = int(q)
        if not 0 <= q < int(backend.num_qubits):
            raise TargetError(
                f"physical qubit {q} is not on {getattr(backend, 'name', 'the device')} "
                f"(qubits 0..{int(backend.num_qubits) - 1})"
            )
        p01 = p10 = None  # P(read 1 | prep 0), P(read 0 | prep 1)
        if props is not None:
            try:
                qprops = props.qubit_property(q)
                p01 = float(qprops["prob_meas1_prep0"][0])
                p10 = float(qprops["prob_meas0_prep1"][0])
            except Exception:  # noqa: BLE001 - not reported for this qubit
                p01 = p10 = None
        if p01 is None:
            inst = target["measure"].get((q,)) if "measure" in target.operation_names else None
            error = getattr(inst, "error", None)
            p01 = p10 = float(error) if error else 0.0
        out.append(np.array([[1.0 - p01, p01], [p10, 1.0 - p10]]))
    return out


def _status_name(status: Any) -> str:
    """``"DONE"`` from a RuntimeJobV2 status string or a qiskit ``JobStatus`` enum."""
    name = getattr(status, "name", status)
    return str(name).upper()


# ------------------------------------------------------------------------- local mode


class _DeviceTranspiling:
    """What both Runtime targets share: the size check and the cached seeded ISA circuit.

    ``_prefer`` picks the layout ranking of :func:`transpile_best`.
    """

    _prefer = "active"
    _readout_from_properties = False

    def readout_confusion(self, physical_qubits) -> list[np.ndarray]:
        """Per-qubit readout confusion ``m[i, k] = P(read k | prepared i)`` (see
        :func:`backend_readout_confusion`)."""
        return backend_readout_confusion(
            self._backend, physical_qubits, prefer_properties=self._readout_from_properties
        )

    def measured_physical_qubits(self, circuit: QuantumCircuit) -> tuple[int, ...]:
        """Entry ``c``: the physical qubit read into clbit ``c`` of ``circuit``.

        A circuit as wide as the device is taken as an ISA circuit; a narrower (logical)
        circuit is transpiled first (:meth:`isa_circuit`).
        """
        if circuit.num_qubits != self.num_qubits:
            circuit = self.isa_circuit(circuit)
        return measured_qubits_by_clbit(circuit)

    def _check_isa(self, circuits: list[QuantumCircuit]) -> None:
        check_isa(circuits, self._backend.target, self.spec)

    def check_fits(self, num_qubits: int) -> None:
        if num_qubits < 1:
            raise TargetError(f"num_qubits must be >= 1, got {num_qubits}")
        if num_qubits > self.num_qubits:
            raise TargetError(
                f"a {num_qubits}-qubit problem does not fit {self.spec} ({self.num_qubits} qubits); "
                "choose a larger device (see `hybrid backends`)"
            )

    def isa_circuit(self, circuit: QuantumCircuit) -> QuantumCircuit:
        key = circuit_fingerprint(circuit)
        if key not in self._isa_cache:
            self.check_fits(circuit.num_qubits)
            _clbit_order(circuit)
            self._isa_cache[key] = transpile_best(
                circuit,
                self._backend,
                seed_transpiler=self.seed_transpiler,
                optimization_level=self.optimization_level,
                trials=self.layout_trials,
                prefer=self._prefer,
            )
        return self._isa_cache[key]


def __getattr__(name: str):
    # Local mode lives in backends.local (which imports this module).
    if name == "LocalRuntimeTarget":
        from .local import LocalRuntimeTarget

        return LocalRuntimeTarget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------ error classifiers

_SESSION_CLOSED_RE = re.compile(
    r"session\b[^.]*\b(is closed|closed|has closed|expired|inactive|not active|terminated)",
    re.IGNORECASE,
)
_TRANSIENT_RE = re.compile(
    r"\b(408|425|429|500|502|503|504|52[0-4])\b|timed? ?out|temporar|unavailable|"
    r"too many requests|connection (reset|aborted|refused|error)|max retries exceeded|"
    r"remote end closed|bad gateway",
    re.IGNORECASE,
)


def is_session_closed(exc: BaseException) -> bool:
    """True for the errors Runtime raises when a session expired or was closed."""
    return bool(_SESSION_CLOSED_RE.search(str(exc)))


def is_transient(exc: BaseException) -> bool:
    """True for network trouble and server-side 5xx/429 replies worth retrying."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    try:
        import requests

        if isinstance(
            exc,
            (
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ),
        ):
            return True
    except ImportError:  # pragma: no cover - requests ships with qiskit-ibm-runtime
        pass
    code = getattr(exc, "status_code", None)
    if isinstance(code, int) and code > 0:
        return code in TRANSIENT_HTTP_CODES
    from qiskit_ibm_runtime.exceptions import IBMError

    if isinstance(exc, IBMError) and _TRANSIENT_RE.search(str(exc)):
        return True
    cause = exc.__cause__
    return cause is not None and cause is not exc and is_transient(cause)


# ------------------------------------------------------------------------- IBM target


class ServiceUnreachableError(TargetError):
    """No network, or the IBM Quantum service (or ``QISKIT_IBM_URL``) cannot be reached."""


class CredentialsError(TargetError):
    """The service was reached and rejected the credentials (or the instance is malformed)."""


class UnknownBackendError(TargetError):
    """The service was reached and has no backend of that name for this account."""


_AUTH_RE = re.compile(r"\b(401|403)\b|unauthori[sz]ed|forbidden|invalid (api )?(token|key)|not authori[sz]ed", re.I)
_BACKEND_RE = re.compile(r"no backend matches|backend .*not (found|exist)|unknown backend", re.I)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 32:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _is_network(exc: BaseException) -> bool:
    import socket

    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror, socket.timeout)):
        return True
    try:
        import requests
        import urllib3.exceptions

        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return True
        if isinstance(exc, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.MaxRetryError,
                            urllib3.exceptions.NameResolutionError, urllib3.exceptions.ConnectTimeoutError)):
            return True
    except ImportError:  # pragma: no cover - both ship with qiskit-ibm-runtime
        pass
    return False


def classify_service_error(exc: BaseException) -> str | None:
    """``"network"``, ``"credentials"``, ``"backend"`` or None, looking through the cause chain.

    Network trouble anywhere in the chain wins: qiskit-ibm-runtime reports an unreachable
    IAM endpoint as "Unable to retrieve instances ... valid API token".
    """
    chain = _chain(exc)
    if any(_is_network(e) for e in chain):
        return "network"
    from qiskit.providers.exceptions import QiskitBackendNotFoundError

    if any(isinstance(e, QiskitBackendNotFoundError) or _BACKEND_RE.search(str(e)) for e in chain):
        return "backend"
    for e in chain:
        code = getattr(e, "status_code", None)
        if code in (401, 403) or _AUTH_RE.search(str(e)):
            return "credentials"
        if type(e).__name__ in ("IBMNotAuthorizedError", "InvalidAccountError"):
            return "credentials"
        if isinstance(e, AttributeError) and "group" in str(e):
            return "credentials"  # qiskit-ibm-runtime failing to parse a malformed instance CRN
    return None


def _connect(**kwargs: Any) -> Any:
    """Build the real ``QiskitRuntimeService`` (the one place that contacts IBM)."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    return QiskitRuntimeService(**kwargs)


def _default_sampler_factory(mode: Any, options: dict[str, Any] | None) -> Any:
    from qiskit_ibm_runtime.executor_sampler import Sampler

    return Sampler(mode=mode, options=dict(options) if options else None)


def _default_session_factory(kind: str, backend: Any, max_time: int | str | None) -> Any:
    from qiskit_ibm_runtime import Batch, Session

    cls = Session if kind == "session" else Batch
    return cls(backend=backend, max_time=max_time)


@dataclass
class _JobRecord:
    job: Any
    clbit_order: list[int] | None
    num_points: int | None
    shots: int | None
    mode: str
    session_id: str | None
    physical_qubits: list[int] | None
    events: list[dict[str, Any]] = field(default_factory=list)
    submitted_at: float = 0.0
    # One clbit order per PUB for run_isa jobs (one bound circuit per PUB); None: one PUB.
    pub_clbit_orders: list[list[int]] | None = None


class IBMTarget(_DeviceTranspiling):
    """``ibm:<backend>``: a real IBM QPU through Qiskit Runtime.

    Credentials: the saved account or the ``QISKIT_IBM_*`` environment variables (see
    the module docstring); ``channel``/``instance`` override them. ``service`` injects
    an already built ``QiskitRuntimeService`` (or a stand-in with ``backend(name)`` and
    ``job(job_id)``); then no credentials are looked up.

    Execution: outside :meth:`session`/:meth:`batch` every job runs in job mode; inside,
    through that Runtime ``Session``/``Batch``. ``submit`` returns a job id without
    waiting; ``fetch`` re-attaches by id (``service.job``) and waits; ``sample`` does both.
    Transient errors are retried with exponential backoff
    (``backoff_base * backoff_factor**k``, capped at ``backoff_max``, at most
    ``max_attempts`` tries); an expired session is reopened once and the job resubmitted
    only when no job id had been returned. A job that has an id is never resubmitted.

    Options (keyword): ``account_file``, ``account_name`` (saved-account lookup),
    ``seed_transpiler`` (0), ``optimization_level`` (3), ``layout_trials`` (4; fewest
    two-qubit gates wins), ``sampler_options`` (dict for ``SamplerOptions``),
    ``max_attempts`` (5), ``backoff_base`` (1.0 s), ``backoff_factor`` (2.0),
    ``backoff_max`` (60 s), ``poll_interval`` (2.0 s), ``job_timeout`` (None: wait
    forever), ``session_max_time``, ``sleep`` (a ``time.sleep`` stand-in), and the
    seams ``sampler_factory(mode, options)`` and ``session_factory(kind, backend, max_time)``
    (default: the executor Sampler and Runtime ``Session``/``Batch``).
    """

    kind = "ibm"
    _prefer = "twoq"  # on hardware, fewest two-qubit gates first
    _readout_from_properties = True  # asymmetric readout from the device calibration
    noisy = True
    exact = False
    capabilities = frozenset({Capability.ISA_EXECUTION, Capability.CALIBRATION, Capability.JOBS, Capability.SESSIONS})
    OPTIONS = (
        "account_file",
        "account_name",
        "seed_transpiler",
        "optimization_level",
        "layout_trials",
        "sampler_options",
        "max_attempts",
        "backoff_base",
        "backoff_factor",
        "backoff_max",
        "poll_interval",
        "job_timeout",
        "session_max_time",
        "sleep",
        "sampler_factory",
        "session_factory",
    )

    def __init__(
        self,
        backend_name: str,
        *,
        service: Any = None,
        channel: str | None = None,
        instance: str | None = None,
        **options: Any,
    ):
        check_options("IBMTarget", options, self.OPTIONS)
        if not isinstance(backend_name, str) or not backend_name.strip():
            raise TargetError("backend_name must name an IBM backend, e.g. ibm:ibm_torino")
        self.backend_name = backend_name.strip()
        self.spec = f"ibm:{self.backend_name}"
        self._account_file = options.get("account_file")
        self._account_name = options.get("account_name")
        self.seed_transpiler = int(options.get("seed_transpiler", 0))
        self.optimization_level = int(options.get("optimization_level", 3))
        self.layout_trials = int(options.get("layout_trials", DEFAULT_LAYOUT_TRIALS))
        self.sampler_options = dict(options.get("sampler_options") or {})
        self.max_attempts = int(options.get("max_attempts", 5))
        self.backoff_base = float(options.get("backoff_base", 1.0))
        self.backoff_factor = float(options.get("backoff_factor", 2.0))
        self.backoff_max = float(options.get("backoff_max", 60.0))
        self.poll_interval = float(options.get("poll_interval", 2.0))
        self.job_timeout = options.get("job_timeout")
        self.session_max_time = options.get("session_max_time")
        self._sleep: Callable[[float], None] = options.get("sleep") or time.sleep
        self._sampler_factory = options.get("sampler_factory") or _default_sampler_factory
        self._session_factory = options.get("session_factory") or _default_session_factory
        if self.max_attempts < 1:
            raise TargetError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.layout_trials < 1:
            raise TargetError(f"layout_trials must be >= 1, got {self.layout_trials}")

        channel = channel or os.environ.get(CHANNEL_ENV, "").strip() or None
        if channel is not None and channel not in CHANNELS:
            raise TargetError(
                f"channel must be one of {', '.join(CHANNELS)}, got {channel!r} "
                "(for local simulation use the spec local:<device>)"
            )
        self.channel = channel
        self.instance = instance

        self._service = service
        if self._service is None:
            self.credential_source = self._find_credentials()
            kwargs: dict[str, Any] = {}
            if channel:
                kwargs["channel"] = channel
            if instance:
                kwargs["instance"] = instance
            if self._account_file:
                kwargs["filename"] = str(self._account_file)
            if self._account_name:
                kwargs["name"] = self._account_name
            try:
                self._service = _connect(**kwargs)
            except Exception as exc:  # noqa: BLE001 - wrapped, token scrubbed
                raise self._service_error(exc, "could not open QiskitRuntimeService") from None
        else:
            self.credential_source = "injected service"

        self._backend = self._lookup_backend()
        self.resolved_name = str(getattr(self._backend, "name", self.backend_name))
        self.num_qubits = int(self._backend.num_qubits)
        self._mode: Any = None
        self._mode_kind = "job"
        self._mode_max_time: int | str | None = None
        self._isa_cache: dict[tuple, QuantumCircuit] = {}
        self._jobs: dict[str, _JobRecord] = {}

    # -- credentials and secrets ------------------------------------------------------

    def _find_credentials(self) -> str:
        """Where credentials will come from; raises TargetError when there are none."""
        if os.environ.get(TOKEN_ENV, "").strip() and not self._account_name:
            return f"environment ({TOKEN_ENV})"
        from qiskit_ibm_runtime import QiskitRuntimeService

        try:
            accounts = QiskitRuntimeService.saved_accounts(
                filename=str(self._account_file) if self._account_file else None,
                name=self._account_name,
            )
        except Exception as exc:  # noqa: BLE001 - wrapped, token scrubbed
            raise self._wrap(
                exc, "could not read the saved IBM Quantum accounts", CREDENTIALS_HELP
            ) from None
        if not accounts:
            where = f" named {self._account_name!r}" if self._account_name else ""
            raise TargetError(
                f"no IBM Quantum credentials found for {self.spec}: no saved account{where} and "
                f"{TOKEN_ENV} is not set; {CREDENTIALS_HELP}"
            )
        name = self._account_name or next(iter(accounts))
        return f"saved account {name!r}"

    def _secrets(self) -> list[str]:
        """Tokens to scrub from messages, gathered on demand (never kept on the object)."""
        secrets = []
        env = os.environ.get(TOKEN_ENV, "").strip()
        if env:
            secrets.append(env)
        account = getattr(self.__dict__.get("_service"), "_account", None)
        token = getattr(account, "token", None)
        if isinstance(token, str) and token:
            secrets.append(token)
        try:
            from qiskit_ibm_runtime import QiskitRuntimeService

            accounts = QiskitRuntimeService.saved_accounts(
                filename=str(self._account_file) if self.__dict__.get("_account_file") else None
            )
            for acc in accounts.values():
                tok = acc.get("token") if isinstance(acc, dict) else None
                if isinstance(tok, str) and tok:
                    secrets.append(tok)
        except Exception:  # noqa: BLE001 - best effort
            pass
        return sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def _scrub(self, text: Any) -> str:
        text = str(text)
        for secret in self._secrets():
            text = text.replace(secret, REDACTED)
        return text

    def _service_error(self, exc: BaseException, what: str) -> TargetError:
        """A TargetError that says which of network, credentials or backend is at fault."""
        kind = classify_service_error(exc)
        root = _chain(exc)[-1]
        if kind == "network":
            url = os.environ.get(URL_ENV, "").strip()
            return self._wrap(
                root,
                f"{what}: cannot reach IBM Quantum{f' at {url}' if url else ''} (no network or service unreachable)",
                f"check the network connection, proxy and {URL_ENV}, then retry; the credentials were not checked",
                cls=ServiceUnreachableError,
            )
        if kind == "credentials":
            return self._wrap(
                exc,
                f"{what}: IBM Quantum rejected the credentials or the instance",
                f"check the API key and the instance CRN; {CREDENTIALS_HELP}",
                cls=CredentialsError,
            )
        if kind == "backend":
            return self._wrap(
                exc,
                f"backend {self.backend_name!r} is not available: unknown backend for this account",
                "list the backends with QiskitRuntimeService().backends() and use ibm:<name>",
                cls=UnknownBackendError,
            )
        return self._wrap(
            exc, what, f"check the saved account or {TOKEN_ENV}/{INSTANCE_ENV}, and network access"
        )

    def _wrap(self, exc: BaseException, what: str, fix: str = "", cls: type = TargetError) -> TargetError:
        message = f"{what} ({self.spec}): {type(exc).__name__}: {self._scrub(exc)}"
        if fix:
            message += f"; {fix}"
        return cls(message)

    # -- backend ------------------------------------------------------------------------

    def _lookup_backend(self) -> Any:
        names = [self.backend_name]
        if not self.backend_name.startswith("ibm_"):
            names.append(f"ibm_{self.backend_name}")
        last: BaseException | None = None
        for name in names:
            try:
                return self._retry(lambda n=name: self._service.backend(n), f"backend {name}", [])
            except Exception as exc:  # noqa: BLE001 - classified below
                kind = classify_service_error(exc)
                if kind in ("network", "credentials"):
                    raise self._service_error(exc, f"looking up backend {name!r} failed") from None
                if isinstance(exc, TargetError) and kind is None:
                    raise
                last = exc  # try the next spelling
        assert last is not None
        raise self._service_error(last, f"backend {self.backend_name!r} is not available") from None

    @property
    def backend(self) -> Any:
        """The Runtime backend object."""
        return self._backend

    @property
    def service(self) -> Any:
        """The QiskitRuntimeService (or the injected stand-in)."""
        return self._service

    def __repr__(self) -> str:
        return (
            f"IBMTarget({self.backend_name!r}, backend={self.resolved_name!r}, "
            f"mode={self._mode_kind!r}, credentials={self.credential_source!r})"
        )

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "kind": self.kind,
            "device": self.resolved_name,
            "qubits": self.num_qubits,
            "noisy": True,
            "exact": False,
            "noise": "hardware",
            "engine": "qiskit_ibm_runtime.executor_sampler.Sampler",
            "channel": self.channel,
            "instance": self.instance,
            "credentials": self.credential_source,
            "mode": self._mode_kind,
            "session_id": self._session_id(),
            "seed_transpiler": self.seed_transpiler,
            "optimization_level": self.optimization_level,
            "layout_trials": self.layout_trials,
            "sampler_options": self.sampler_options,
        }

    # -- sessions -----------------------------------------------------------------------

    def _session_id(self) -> str | None:
        if self._mode is None:
            return None
        sid = getattr(self._mode, "session_id", None)
        return str(sid) if sid is not None else None

    def _open_mode(self) -> Any:
        try:
            return self._retry(
                lambda: self._session_factory(self._mode_kind, self._backend, self._mode_max_time),
                f"open {self._mode_kind}",
                [],
            )
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._wrap(exc, f"could not open a Runtime {self._mode_kind}") from None

    def _close_mode(self) -> None:
        mode, self._mode = self._mode, None
        if mode is None:
            return
        try:
            mode.close()
        except Exception as exc:  # noqa: BLE001 - closing is best effort
            logger.warning("closing the Runtime %s failed: %s", self._mode_kind, self._scrub(exc))

    @contextlib.contextmanager
    def _execution_mode(self, kind: str, max_time: int | str | None) -> Iterator["IBMTarget"]:
        if self._mode is not None:
            raise TargetError(
                f"{self.spec} is already inside a Runtime {self._mode_kind}; "
                "leave it before opening another"
            )
        self._mode_kind = kind
        self._mode_max_time = max_time if max_time is not None else self.session_max_time
        try:
            self._mode = self._open_mode()
            yield self
        finally:
            self._close_mode()
            self._mode_kind = "job"
            self._mode_max_time = None

    def session(self, max_time: int | str | None = None) -> contextlib.AbstractContextManager:
        """Run every ``sample``/``submit`` inside one Runtime ``Session``; yields the target."""
        return self._execution_mode("session", max_time)

    def batch(self, max_time: int | str | None = None) -> contextlib.AbstractContextManager:
        """Run every ``sample``/``submit`` inside one Runtime ``Batch``; yields the target."""
        return self._execution_mode("batch", max_time)

    # -- retries ------------------------------------------------------------------------

    def _delay(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * self.backoff_factor ** (attempt - 1))

    def _retry(self, call: Callable[[], Any], what: str, events: list[dict[str, Any]]) -> Any:
        """``call()`` with backoff on transient errors; other errors propagate unchanged."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except Exception as exc:  # noqa: BLE001
                if not is_transient(exc):
                    raise
                if attempt >= self.max_attempts:
                    raise self._wrap(
                        exc,
                        f"{what} still failing after {attempt} attempts",
                        "check the network and https://quantum.cloud.ibm.com/status, then retry",
                    ) from None
                delay = self._delay(attempt)
                self._note(events, what, exc, f"retry in {delay:g} s")
                self._sleep(delay)

    def _note(self, events: list[dict[str, Any]], what: str, exc: BaseException, action: str) -> None:
        error = f"{type(exc).__name__}: {self._scrub(exc)}"
        events.append({"during": what, "error": error, "action": action})
        logger.warning("%s on %s: %s; %s", what, self.spec, error, action)

    # -- jobs ---------------------------------------------------------------------------

    def submit(self, circuit: QuantumCircuit, parameter_values: np.ndarray, shots: int) -> str:
        """Submit one PUB with the whole parameter batch; returns the job id without waiting."""
        values = as_parameter_batch(circuit, parameter_values)
        shots = check_shots(shots)
        isa = self.isa_circuit(circuit)
        order = _clbit_order(isa)
        job_id, job, events = self._submit_pubs([(isa, values)], shots, self.sampler_options)
        self._jobs[job_id] = _JobRecord(
            job=job,
            clbit_order=order,
            num_points=len(values),
            shots=shots,
            mode=self._mode_kind,
            session_id=self._session_id(),
            physical_qubits=_physical_qubits(isa, circuit.num_qubits),
            events=events,
            submitted_at=time.time(),
        )
        logger.info("submitted job %s to %s (%s mode)", job_id, self.resolved_name, self._mode_kind)
        return job_id

    def submit_isa(
        self,
        circuits,
        shots: int,
        *,
        sampler_options: dict[str, Any] | None = None,
    ) -> str:
        """Submit bound ISA ``circuits`` as one job (one PUB each); returns the job id.

        Same retry and session behaviour as :meth:`submit`; :meth:`fetch` returns one
        counts dict per circuit. ``sampler_options`` are merged over the target's own
        for this job only (e.g. ``{"dynamical_decoupling": {"enable": True}}``).
        """
        circuits = as_circuit_list(circuits)
        shots = check_shots(shots)
        self._check_isa(circuits)
        orders = [_clbit_order(c) for c in circuits]
        options = _merge_options(self.sampler_options, sampler_options)
        job_id, job, events = self._submit_pubs([(c,) for c in circuits], shots, options)
        self._jobs[job_id] = _JobRecord(
            job=job,
            clbit_order=None,
            num_points=len(circuits),
            shots=shots,
            mode=self._mode_kind,
            session_id=self._session_id(),
            physical_qubits=list(measured_qubits_by_clbit(circuits[0])),
            events=events,
            submitted_at=time.time(),
            pub_clbit_orders=orders,
        )
        logger.info(
            "submitted job %s (%d circuits) to %s (%s mode)",
            job_id,
            len(circuits),
            self.resolved_name,
            self._mode_kind,
        )
        return job_id

    def _submit_pubs(
        self, pubs: list[tuple], shots: int, options: dict[str, Any]
    ) -> tuple[str, Any, list[dict[str, Any]]]:
        """Run ``pubs`` through the Sampler with retries; returns (job id, job, retry events)."""
        events: list[dict[str, Any]] = []
        reopened = False
        attempt = 0
        while True:
            attempt += 1
            mode = self._mode if self._mode is not None else self._backend
            try:
                sampler = self._sampler_factory(mode, options or None)
                job = sampler.run(pubs, shots=shots)
                job_id = str(job.job_id())
            except Exception as exc:  # noqa: BLE001
                if self._mode is not None and not reopened and is_session_closed(exc):
                    # No job id came back, so the job was never accepted: safe to resubmit.
                    self._note(events, "submit", exc, f"reopened the {self._mode_kind} and resubmitted")
                    self._close_mode()
                    self._mode = self._open_mode()
                    reopened = True
                    continue
                if is_transient(exc) and attempt < self.max_attempts:
                    delay = self._delay(attempt)
                    self._note(events, "submit", exc, f"retry in {delay:g} s")
                    self._sleep(delay)
                    continue
                fix = (
                    f"the {self._mode_kind} was reopened once already; open a new one"
                    if reopened
                    else "check the circuit, the options and the backend status"
                )
                raise self._wrap(exc, f"submitting to {self.resolved_name} failed", fix) from None
            return job_id, job, events

    def _attach(self, job_id: str, events: list[dict[str, Any]]) -> Any:
        try:
            return self._retry(lambda: self._service.job(job_id), f"re-attach job {job_id}", events)
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._wrap(
                exc, f"could not find job {job_id}", "check the job id and the account/instance"
            ) from None

    def status(self, job_id: str) -> str:
        """``"QUEUED"``, ``"RUNNING"``, ``"DONE"``, ``"ERROR"``, ``"CANCELLED"``, ..."""
        record = self._jobs.get(job_id)
        job = record.job if record is not None else self._attach(job_id, [])
        try:
            return _status_name(self._retry(job.status, f"status of job {job_id}", []))
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._wrap(exc, f"could not read the status of job {job_id}") from None

    def _failed(self, job: Any, job_id: str, status: str) -> JobFailedError:
        reason = ""
        try:
            reason = job.error_message() or ""
        except Exception as exc:  # noqa: BLE001 - the reason is informative only
            reason = f"(error message unavailable: {type(exc).__name__})"
        message = (
            f"IBM job {job_id} on {self.resolved_name} ended {status}"
            + (f": {self._scrub(reason)}" if reason else "")
            + f"; inspect it with QiskitRuntimeService().job({job_id!r}).error_message()"
        )
        return JobFailedError(message, job_id, status)

    def _wait(self, job: Any, job_id: str, history: list[str], timeout: float | None) -> str:
        start = time.monotonic()
        while True:
            status = _status_name(job.status())
            if not history or history[-1] != status:
                history.append(status)
            if status in FINAL_STATUSES:
                return status
            if timeout is not None and time.monotonic() - start >= timeout:
                raise TargetError(
                    f"job {job_id} on {self.resolved_name} is still {status} after {timeout:g} s; "
                    f"fetch it later with target.fetch({job_id!r})"
                )
            self._sleep(self.poll_interval)

    def fetch(self, job_id: str, timeout: float | None = None) -> SampleResult:
        """Wait for job ``job_id`` (re-attaching by id when needed) and return its counts."""
        start = time.perf_counter()
        timeout = self.job_timeout if timeout is None else timeout
        record = self._jobs.get(job_id)
        events = record.events if record is not None else []
        job = record.job if record is not None else None
        history: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            try:
                if job is None:
                    job = self._attach(job_id, events)
                status = self._wait(job, job_id, history, timeout)
                if status in FAILED_STATUSES:
                    raise self._failed(job, job_id, status)
                result = job.result()
                break
            except TargetError:
                raise
            except Exception as exc:  # noqa: BLE001
                if is_transient(exc) and attempt < self.max_attempts:
                    delay = self._delay(attempt)
                    self._note(events, f"fetch job {job_id}", exc, f"re-attach by id in {delay:g} s")
                    self._sleep(delay)
                    job = None  # re-attach by id; never resubmit a job that has an id
                    continue
                from qiskit_ibm_runtime.exceptions import (
                    RuntimeInvalidStateError,
                    RuntimeJobFailureError,
                )

                if isinstance(exc, (RuntimeJobFailureError, RuntimeInvalidStateError)):
                    status = "CANCELLED" if isinstance(exc, RuntimeInvalidStateError) else "ERROR"
                    raise JobFailedError(
                        f"IBM job {job_id} on {self.resolved_name} ended {status}: "
                        f"{self._scrub(exc)}",
                        job_id,
                        status,
                    ) from None
                raise self._wrap(exc, f"could not fetch the result of job {job_id}") from None
        if record is not None:
            record.job = job
        if record is not None and record.pub_clbit_orders is not None:
            # A run_isa job: one bound circuit per PUB.
            pieces = [
                counts_from_pub_result(result[i], 1, order)
                for i, order in enumerate(record.pub_clbit_orders)
            ]
            counts = tuple(c for piece, _ in pieces for c in piece)
            shots = pieces[-1][1]
        elif record is None and len(result) > 1:
            # Re-attached by id without a record: every PUB, registers in clbit order.
            pieces = [counts_from_pub_result(result[i]) for i in range(len(result))]
            counts = tuple(c for piece, _ in pieces for c in piece)
            shots = pieces[-1][1]
        else:
            counts, shots = counts_from_pub_result(
                result[0],
                record.num_points if record is not None else None,
                record.clbit_order if record is not None else None,
            )
        return SampleResult(
            counts=counts,
            shots=shots,
            job_ids=(job_id,),
            wall_time=time.perf_counter() - start,
            metadata={
                "target": self.spec,
                "backend": self.resolved_name,
                "mode": record.mode if record is not None else None,
                "session_id": record.session_id if record is not None else None,
                "physical_qubits": record.physical_qubits if record is not None else None,
                "status_history": history,
                "retries": len(events),
                "retry_events": list(events),
                "seed": None,
            },
        )

    def run_isa(
        self,
        circuits,
        shots: int,
        seed: int | np.random.Generator | None = None,
        *,
        sampler_options: dict[str, Any] | None = None,
    ) -> SampleResult:
        """``submit_isa`` + wait + ``fetch``. ``seed`` is ignored: hardware shots are not seedable."""
        start = time.perf_counter()
        job_id = self.submit_isa(circuits, shots, sampler_options=sampler_options)
        result = self.fetch(job_id)
        return SampleResult(
            counts=result.counts,
            shots=result.shots,
            job_ids=result.job_ids,
            wall_time=time.perf_counter() - start,
            metadata={**result.metadata, "num_circuits": len(result.counts)},
        )

    def sample(
        self,
        circuit: QuantumCircuit,
        parameter_values: np.ndarray,
        shots: int,
        seed: int | np.random.Generator | None = None,
    ) -> SampleResult:
        """``submit`` + wait + ``fetch``. ``seed`` is ignored: hardware shots are not seedable."""
        start = time.perf_counter()
        job_id = self.submit(circuit, parameter_values, shots)
        result = self.fetch(job_id)
        return SampleResult(
            counts=result.counts,
            shots=result.shots,
            job_ids=result.job_ids,
            wall_time=time.perf_counter() - start,
            metadata=result.metadata,
        )

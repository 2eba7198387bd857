"""IBM Quantum credentials and service errors, with every known token kept out of messages.

Credentials come only from the saved account (``QiskitRuntimeService.save_account(...)``)
or from the environment variables that qiskit-ibm-runtime itself reads:

``QISKIT_IBM_TOKEN``     API key (used instead of a saved account when set and non-empty)
``QISKIT_IBM_INSTANCE``  instance CRN or name, used together with ``QISKIT_IBM_TOKEN``
``QISKIT_IBM_CHANNEL``   ``ibm_quantum_platform`` (default) or ``ibm_cloud``
``QISKIT_IBM_URL``       API base URL, used together with ``QISKIT_IBM_TOKEN``

The token is never read into any object's state, printed, logged, or put in a
``repr``/``describe()``: :func:`scrub` gathers the tokens to hide on demand, and every
error from the service is re-raised by :func:`wrap_error` / :func:`service_error` as a
:class:`~backends.base.TargetError` whose message has them replaced by ``<redacted>``.
:func:`connect` is the one place that contacts IBM.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..base import TargetError

TOKEN_ENV = "QISKIT_IBM_TOKEN"
INSTANCE_ENV = "QISKIT_IBM_INSTANCE"
CHANNEL_ENV = "QISKIT_IBM_CHANNEL"
URL_ENV = "QISKIT_IBM_URL"
CREDENTIAL_ENV_VARS = (TOKEN_ENV, INSTANCE_ENV, CHANNEL_ENV, URL_ENV)
CHANNELS = ("ibm_quantum_platform", "ibm_cloud")

REDACTED = "<redacted>"

CREDENTIALS_HELP = (
    "save an account once with `from qiskit_ibm_runtime import QiskitRuntimeService; "
    "QiskitRuntimeService.save_account(token=<API key>, instance=<CRN>, set_as_default=True)`, "
    f"or set {TOKEN_ENV} (and {INSTANCE_ENV}; optionally {CHANNEL_ENV}={CHANNELS[0]})"
)



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


def connect(**kwargs: Any) -> Any:
    """Build the real ``QiskitRuntimeService`` (the one place that contacts IBM)."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    return QiskitRuntimeService(**kwargs)


def find_credentials(spec: str, account_file: Any = None, account_name: str | None = None) -> str:
    """Where credentials will come from; raises TargetError when there are none."""
    if os.environ.get(TOKEN_ENV, "").strip() and not account_name:
        return f"environment ({TOKEN_ENV})"
    from qiskit_ibm_runtime import QiskitRuntimeService

    try:
        accounts = QiskitRuntimeService.saved_accounts(
            filename=str(account_file) if account_file else None,
            name=account_name,
        )
    except Exception as exc:  # noqa: BLE001 - wrapped, token scrubbed
        raise wrap_error(
            exc, spec, "could not read the saved IBM Quantum accounts", CREDENTIALS_HELP, account_file=account_file
        ) from None
    if not accounts:
        where = f" named {account_name!r}" if account_name else ""
        raise TargetError(
            f"no IBM Quantum credentials found for {spec}: no saved account{where} and "
            f"{TOKEN_ENV} is not set; {CREDENTIALS_HELP}"
        )
    name = account_name or next(iter(accounts))
    return f"saved account {name!r}"


def known_secrets(service: Any = None, account_file: Any = None) -> list[str]:
    """Tokens to scrub from messages, gathered on demand (never kept on an object)."""
    secrets = []
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        secrets.append(env)
    account = getattr(service, "_account", None)
    token = getattr(account, "token", None)
    if isinstance(token, str) and token:
        secrets.append(token)
    try:
        from qiskit_ibm_runtime import QiskitRuntimeService

        accounts = QiskitRuntimeService.saved_accounts(filename=str(account_file) if account_file else None)
        for acc in accounts.values():
            tok = acc.get("token") if isinstance(acc, dict) else None
            if isinstance(tok, str) and tok:
                secrets.append(tok)
    except Exception:  # noqa: BLE001 - best effort
        pass
    return sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)


def scrub(text: Any, service: Any = None, account_file: Any = None) -> str:
    """``text`` with every known token (environment, service account, saved accounts) redacted."""
    text = str(text)
    for secret in known_secrets(service, account_file):
        text = text.replace(secret, REDACTED)
    return text


def wrap_error(
    exc: BaseException,
    spec: str,
    what: str,
    fix: str = "",
    cls: type = TargetError,
    *,
    service: Any = None,
    account_file: Any = None,
) -> TargetError:
    """A ``cls`` error saying ``what`` failed on ``spec``, the scrubbed cause, and ``fix``."""
    message = f"{what} ({spec}): {type(exc).__name__}: {scrub(exc, service, account_file)}"
    if fix:
        message += f"; {fix}"
    return cls(message)


def service_error(
    exc: BaseException, what: str, spec: str, backend_name: str, *, service: Any = None, account_file: Any = None
) -> TargetError:
    """A TargetError that says which of network, credentials or backend is at fault."""
    kind = classify_service_error(exc)
    root = _chain(exc)[-1]
    hide = {"service": service, "account_file": account_file}
    if kind == "network":
        url = os.environ.get(URL_ENV, "").strip()
        return wrap_error(
            root,
            spec,
            f"{what}: cannot reach IBM Quantum{f' at {url}' if url else ''} (no network or service unreachable)",
            f"check the network connection, proxy and {URL_ENV}, then retry; the credentials were not checked",
            cls=ServiceUnreachableError,
            **hide,
        )
    if kind == "credentials":
        return wrap_error(
            exc,
            spec,
            f"{what}: IBM Quantum rejected the credentials or the instance",
            f"check the API key and the instance CRN; {CREDENTIALS_HELP}",
            cls=CredentialsError,
            **hide,
        )
    if kind == "backend":
        return wrap_error(
            exc,
            spec,
            f"backend {backend_name!r} is not available: unknown backend for this account",
            "list the backends with QiskitRuntimeService().backends() and use ibm:<name>",
            cls=UnknownBackendError,
            **hide,
        )
    return wrap_error(
        exc, spec, what, f"check the saved account or {TOKEN_ENV}/{INSTANCE_ENV}, and network access", **hide
    )

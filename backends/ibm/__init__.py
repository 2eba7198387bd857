"""Real IBM QPUs through Qiskit Runtime: credentials, jobs, and the ``ibm:<backend>`` target."""

from .credentials import CredentialsError, ServiceUnreachableError, UnknownBackendError
from .jobs import SubmittedJob
from .target import IBMTarget

__all__ = ["CredentialsError", "IBMTarget", "ServiceUnreachableError", "SubmittedJob", "UnknownBackendError"]

"""Re-exports of names moved to :mod:`hybrid.oracles`: import from hybrid.oracles."""

from .oracles import DEFAULT_SHOTS  # noqa: F401
from .oracles import FD_STEP  # noqa: F401
from .oracles import NOISY_METHODS  # noqa: F401
from .oracles import STATEVECTOR_MAX_NODES  # noqa: F401
from .oracles import Evaluation  # noqa: F401
from .oracles import IdealOracle  # noqa: F401
from .oracles import NoisyExactOracle  # noqa: F401
from .oracles import Oracle  # noqa: F401
from .oracles import P1ClosedForm  # noqa: F401
from .oracles import SampledOracle  # noqa: F401
from .oracles import StackedIdealOracle  # noqa: F401
from .oracles import as_batch as _as_batch  # noqa: F401
from .oracles import bitstring  # noqa: F401
from .oracles import counts_statistics  # noqa: F401
from .oracles import exact_gradient_charge  # noqa: F401
from .oracles import fd_value_and_grad as _fd_value_and_grad  # noqa: F401
from .oracles import ideal_oracle  # noqa: F401
from .oracles import make_oracle  # noqa: F401
from .oracles import p1_expectation  # noqa: F401
from .strategies.fit import fit_constant  # noqa: F401

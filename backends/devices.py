"""The fake IBM devices of ``qiskit_ibm_runtime.fake_provider``, by short name."""

from __future__ import annotations

import functools
import inspect

from .base import TargetError


@functools.lru_cache(maxsize=1)
def _fake_classes() -> dict[str, type]:
    from qiskit_ibm_runtime import fake_provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    classes = {}
    for name, cls in vars(fake_provider).items():
        if (
            name.startswith("Fake")
            and inspect.isclass(cls)
            and issubclass(cls, FakeBackendV2)
            and cls is not FakeBackendV2
            and not name.startswith("FakeFractional")
        ):
            short = name[len("Fake"):]
            if short.endswith("V2"):
                short = short[:-2]
            classes[short.lower()] = cls
    return classes


def fake_device_names() -> list[str]:
    """Short names usable in ``fake:<name>`` and ``local:<name>`` (e.g. ``torino``)."""
    return sorted(_fake_classes())


def normalise_device_name(name: str) -> str:
    key = name.strip().lower()
    for prefix in ("ibm_", "fake_", "fake"):
        if key.startswith(prefix) and key[len(prefix):] in _fake_classes():
            key = key[len(prefix):]
    return key


@functools.lru_cache(maxsize=None)
def load_fake_backend(name: str):
    """A fresh fake backend (``FakeTorino`` for ``"torino"``); cached per name."""
    key = normalise_device_name(name)
    classes = _fake_classes()
    if key not in classes:
        raise TargetError(
            f"unknown fake device {name!r}; choose one of: {', '.join(sorted(classes))}"
        )
    import warnings

    with warnings.catch_warnings(record=True) as caught:  # said once, in our words: see UNTYPICAL_DEVICES
        warnings.simplefilter("always")
        backend = classes[key]()
    for w in caught:
        if "not intended to represent typical" in str(w.message):
            UNTYPICAL_DEVICES.add(key)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return backend


#: Fake devices whose provider says their error values are not typical of the real device.
UNTYPICAL_DEVICES: set[str] = set()

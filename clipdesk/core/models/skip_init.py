"""Building a model without drawing random weights first: within weights_from_checkpoint(),
in that thread only, torch's weight initialisers do nothing.

This wraps functions of torch.nn.init (a patch of a third-party module). Written against
torch 2.14.1 and open_clip_torch 3.3.0; it relies on (a) every name in INITIALISERS being
a function of torch.nn.init, and (b) torch's layers and open_clip's model constructors
calling them through the module (`nn.init.normal_(...)`, `init.trunc_normal_(...)`), so
that the wrapper set on the module is the function they call. (torch's own
nn.MultiheadAttention binds xavier_uniform_ and constant_ at its import, so its
projections are still drawn: the checkpoint overwrites them.)
tests/core/test_third_party_patches.py fails when an upgrade changes either.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from clipdesk.core.models.imports import torch_module

# torch's weight initialisers, which a model's constructor runs on every weight
INITIALISERS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                "kaiming_normal_", "orthogonal_", "sparse_")
_install_lock = threading.Lock()
_skip_init = threading.local()


@contextmanager
def weights_from_checkpoint() -> Iterator[None]:
    """Within, in this thread only, torch's weight initialisers do nothing: the model built
    here gets every weight from its checkpoint (loaded strictly), so drawing random ones
    first is wasted (about 1 s of a ViT-B-32's load on 2 cores). Buffers that are not in
    a checkpoint (the causal text mask) are not made by initialisers."""
    _install()
    _skip_init.on = True
    try:
        yield
    finally:
        _skip_init.on = False


def _install() -> None:
    """Wrap torch.nn.init's initialisers (once) so that a thread can turn them off."""
    init = torch_module().nn.init
    with _install_lock:
        for name in INITIALISERS:
            original = getattr(init, name, None)
            if original is None or getattr(original, "clipdesk_skip", False):
                continue

            def initialiser(tensor: Any, *args: Any, _original: Any = original,
                            **kwargs: Any) -> Any:
                if getattr(_skip_init, "on", False):
                    return tensor
                return _original(tensor, *args, **kwargs)

            initialiser.clipdesk_skip = True  # type: ignore[attr-defined]
            setattr(init, name, initialiser)

"""Policy levers: each is one config section under ``policy`` plus the code that applies it.

A lever is a :class:`Lever` subclass in a module of this package; defining it registers it
under its ``key``, and ``sim.config.Policy`` gets one section per registered lever. The
channels and agents a lever governs call its methods (``policy.customs.cargo_rate``); a
lever that acts on its own (detection after delivery, say) overrides the hooks of
:class:`Lever`, which the model calls every month for every lever that overrides them. A new
lever is therefore one module here, one config group (``configs/policy/<key>/``), its test
and its documentation.
"""

import importlib
import pkgutil

from sim.levers.base import LEVERS, Lever

__all__ = ["LEVERS", "Lever"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

"""The platforms the gateway speaks to: ``Platform`` -> the factory its package exposes.

Each ``Platform`` is implemented by the package named after it without the ``_ads`` suffix
(``meta_ads`` -> ``gateway.platforms.meta``), which exposes ``FACTORY``. Looking the package
up by name, rather than importing every package here, keeps a new platform to its own package,
its sandbox and one line in the ``Platform`` enum.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from gateway.platforms.base import AdPlatform, Platform
from gateway.platforms.factory import PlatformFactory, PlatformSettings


def package_of(platform: Platform) -> str:
    """The module that implements ``platform``."""
    return f"gateway.platforms.{platform.value.removesuffix('_ads')}"


@cache
def factory(platform: Platform) -> PlatformFactory[AdPlatform]:
    """The factory of ``platform``'s package; a package without a matching ``FACTORY`` is a
    programming error, reported with the package's name."""
    module = importlib.import_module(package_of(platform))
    found = getattr(module, "FACTORY", None)
    if not isinstance(found, PlatformFactory) or found.platform is not platform:
        raise TypeError(f"{module.__name__}.FACTORY must be the PlatformFactory of {platform}")
    return found


def factories() -> Mapping[Platform, PlatformFactory[AdPlatform]]:
    """Every platform's factory, in ``Platform`` order."""
    return MappingProxyType({platform: factory(platform) for platform in Platform})


def default_settings() -> dict[Platform, PlatformSettings]:
    """Every platform's default settings (the real APIs), as configuration starts from them."""
    return {platform: factory(platform).defaults for platform in Platform}

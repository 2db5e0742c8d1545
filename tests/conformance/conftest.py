"""The conformance tests that need the whole platform share the e2e suite's: three real processes."""

from tests.e2e.conftest import platform, platform_env

__all__ = ["platform", "platform_env"]

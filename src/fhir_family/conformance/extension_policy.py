"""What an extension that neither the guide nor R4 core defines costs: the ``unknown_extensions`` policy.

The HL7 reference validator rejects an unknown extension (an error) unless its domain is allowed; this guide
documents the opposite for its own resources (docs/guide.md: a vendor may carry its own extensions on a
national return, a warning). So:

- ``"error"`` (the default): an error, except on a resource validated against one of this guide's profiles,
  where the guide's documented warning stands;
- ``"warning"``: a warning everywhere;
- a list of URL prefixes (``["https://vendor.example/"]``): extensions under them are accepted (an
  information issue says their content was not checked), any other unknown one is handled as ``"error"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..guide import CANONICAL
from ..outcome import IssueSeverity


@dataclass(frozen=True, slots=True)
class ExtensionPolicy:
    """The severity of an unknown extension (None: not reported)."""

    mode: str = "error"
    allowed_prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, setting: str | Iterable[str] | None) -> ExtensionPolicy:
        """From the ``unknown_extensions`` setting: "error", "warning" or allowed URL prefixes."""
        if setting is None or setting == "error":
            return cls()
        if setting == "warning":
            return cls("warning")
        if isinstance(setting, str):
            raise ValueError(
                "unknown_extensions must be 'error', 'warning' or a list of allowed URL prefixes, "
                f"not {setting!r}"
            )
        prefixes = tuple(setting)
        if not prefixes or not all(isinstance(p, str) and p for p in prefixes):
            raise ValueError("unknown_extensions: the allowed URL prefixes must be non-empty strings")
        return cls("error", prefixes)

    def severity(self, url: str, profile_url: str | None) -> IssueSeverity:
        """How an unknown extension ``url`` on a resource validated against ``profile_url`` is reported."""
        if self.allowed_prefixes and url.startswith(self.allowed_prefixes):
            return IssueSeverity.INFORMATION
        if self.mode == "warning" or is_guide_profile(profile_url):
            return IssueSeverity.WARNING
        return IssueSeverity.ERROR


def is_guide_profile(profile_url: str | None) -> bool:
    """A profile of this guide, whose documented rule is that unknown extensions are only warnings."""
    return bool(profile_url) and profile_url.startswith(f"{CANONICAL}/")  # type: ignore[union-attr]

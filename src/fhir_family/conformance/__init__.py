"""FHIR R4 conformance: the guide's and core definitions, terminology, and the profile validator.

No Flask, no SQLAlchemy, no IO beyond reading definitions (see README.md in this package).
"""

from .validator import Validator as Validator
from .validator import default_validator as default_validator

__all__ = ["Validator", "default_validator"]

"""FHIR R4 conformance: the guide's and core definitions, terminology, and the profile validator.

No Flask, no SQLAlchemy, no IO beyond reading definitions (see README.md in this package).
"""

from .packages import DefinitionStore as DefinitionStore
from .packages import PackageError as PackageError
from .terminology import CodeResult as CodeResult
from .terminology import Terminology as Terminology
from .validator import Validator as Validator
from .validator import default_validator as default_validator

__all__ = ["CodeResult", "DefinitionStore", "PackageError", "Terminology", "Validator", "default_validator"]

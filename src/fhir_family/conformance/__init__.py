"""FHIR R4 conformance: the guide's and core definitions, terminology, and the profile validator.

No Flask, no SQLAlchemy, no IO beyond reading definitions (see README.md in this package).
"""

from .package_cache import PackageSpecError as PackageSpecError
from .package_cache import installed_packages as installed_packages
from .package_install import InstallError as InstallError
from .package_install import install as install_package
from .packages import DefinitionStore as DefinitionStore
from .packages import PackageError as PackageError
from .terminology import CodeResult as CodeResult
from .terminology import Terminology as Terminology
from .validator import Validator as Validator
from .validator import default_validator as default_validator

__all__ = [
    "CodeResult",
    "DefinitionStore",
    "InstallError",
    "PackageError",
    "PackageSpecError",
    "Terminology",
    "Validator",
    "default_validator",
    "install_package",
    "installed_packages",
]

"""fhir_family.analytics: SQL on FHIR v2 views of the national return, and the engines that run them.

No Flask and no SQLAlchemy in here: the views run over plain resource dicts (``runner``), the official test
suite checks the runner (``suite``), and DuckDB materialises the views from a Bulk Data export.
"""

from .exceptions import ViewDefinitionError as ViewDefinitionError
from .runner import run_view as run_view
from .viewdefinition import ViewDefinition as ViewDefinition
from .viewdefinition import read_view as read_view

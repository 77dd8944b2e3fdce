"""The guide's readable pages: a static folder (``fhir-family pages``) and the facade's ``/ig/`` blueprint.

Importing this package imports neither Flask nor the validator; ``fhir_family.site.blueprint`` brings Flask.
"""

from .builder import SiteBuilder as SiteBuilder
from .builder import build_site as build_site

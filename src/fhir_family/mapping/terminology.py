"""Kept so that code importing ``fhir_family.mapping.terminology`` still works: the tables live in
``fhir_family.model`` (the one mirror of docs/model.md). New code imports ``fhir_family.model``."""

from fhir_family.model import *  # noqa: F403

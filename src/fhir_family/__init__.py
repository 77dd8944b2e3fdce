"""fhir-family: parents and carers of dependent children in adult mental health services, in FHIR R4."""

__version__ = "0.1.0"

__all__ = ["__version__"]

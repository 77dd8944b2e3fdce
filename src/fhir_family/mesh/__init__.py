"""Returns by MESH (NHS England's Message Exchange for Social Care and Health), with NHS England's own
``mesh-client``: the provider's sender and the collector's poller. See docs/mesh.md."""

from .config import RETURN_WORKFLOW as RETURN_WORKFLOW
from .config import MeshConfigurationError as MeshConfigurationError
from .config import MeshSettings as MeshSettings
from .config import MeshTransportError as MeshTransportError
from .sender import MeshForwarder as MeshForwarder
from .sender import fetch_outcomes as fetch_outcomes
from .sender import send_returns as send_returns

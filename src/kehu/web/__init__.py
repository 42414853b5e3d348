"""The team's web application: server-rendered pages over the same services as the API.

Pages own ``/``; the REST API lives under ``/api/v1``.  Every page works without
JavaScript except charts; assets come from the project (``static/``) or from an
installed package (Plotly's bundle), never from a CDN.
"""

from __future__ import annotations

from kehu.web.app import mount

__all__ = ["mount"]

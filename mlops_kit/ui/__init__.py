"""The web UI: server-rendered pages over a store, for everyone on the team.

``mk.ui_app(storage)`` is an ASGI app (Starlette) to mount in a FastAPI or Starlette
service; ``mlops-kit ui --storage URL`` serves it. Read-only unless started with actions
allowed and a token. Needs the ``ui`` extra: ``pip install 'mlops-kit[ui]'``.
"""

from mlops_kit.core.exports import publish
from mlops_kit.ui._app import ui_app

__all__ = ["ui_app"]

# Last: every name above is bound.
publish(__name__, __all__, globals())

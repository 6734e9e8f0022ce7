"""The jupyter_server extension: tiles, the REST API and live events under ``{base_url}exact/``.

The same :class:`ExactLabApp` runs inside a user's Jupyter server (JupyterLab, Notebook 7,
Voila, JupyterHub single-user servers) and standalone (``exact-lab serve``, arriving with the
REST API). URLs are always relative to the server's ``base_url``.
"""

from exact_lab.server_ext.app import ExactLabApp

__all__ = ["ExactLabApp"]

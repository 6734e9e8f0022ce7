"""SlideViewer: a deep-zoom whole-slide viewer in a notebook cell."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from exact_lab.widgets._bundle import bundle

__all__ = ["SlideViewer"]


class SlideViewer(anywidget.AnyWidget):
    """Show a whole slide with OpenSeadragon; tiles come over HTTP from the server extension.

    Parameters
    ----------
    dzi_url
        Path of the slide's DeepZoom descriptor relative to the Jupyter server's ``base_url``
        (for example ``"exact/images/image/1/dzi"``); the browser resolves it against the page's
        own base URL, so the same notebook works under JupyterHub's ``/user/NAME/`` prefix.
    title
        Text shown under the slide once it is open.
    height
        Height of the viewer in CSS pixels.

    Examples
    --------
    >>> viewer = SlideViewer(dzi_url="exact/images/image/1/dzi", title="cmu_small_region")
    >>> viewer.height
    600
    """

    _esm = bundle("viewer")

    dzi_url = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    height = traitlets.Int(600).tag(sync=True)
    #: The last error the browser met (for example: the slide could not be opened); "" if none.
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(self.class_trait_names(sync=True)) - {"layout"})
        if unknown:
            raise TypeError(f"SlideViewer got unknown arguments: {', '.join(unknown)}")
        super().__init__(**kwargs)

    @traitlets.validate("height")
    def _check_height(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 100 <= value <= 4000:  # noqa: PLR2004 - a readable range, named in the message
            raise traitlets.TraitError(f"height must be between 100 and 4000 pixels, got {value}")
        return value

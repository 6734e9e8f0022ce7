"""Logic that joins the store and the slides, driven by notebooks, widgets and the server."""

from exact_lab.workflows.registration import add_slide

__all__ = ["add_slide"]

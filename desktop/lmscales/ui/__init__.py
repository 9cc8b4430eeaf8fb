"""The Qt room: every PySide6 and pyqtgraph import of LM Scales lives under this package."""

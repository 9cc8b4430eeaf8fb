"""The Qt-free heart of LM Scales: tasks, metrics, engines, model files.

Nothing here imports PySide6 or pyqtgraph (an import-linter contract and a test prove it), so the
CLI, the benchmarks and the tests drive a whole comparison without a QApplication.
"""

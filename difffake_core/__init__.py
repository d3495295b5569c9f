"""difffake_core: the pure DiffFake library.

Video sampling, faces, pseudo-fakes, feature extractors, pairs, anomaly models and metrics.
It never imports Prefect or the data catalog: orchestration lives in ``tasks/`` and ``flows/``.
"""

__version__ = "0.1.0"

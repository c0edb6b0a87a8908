"""Matplotlib Figure builders for comparisons (object API only: never pyplot's global state).

Every builder returns a ``matplotlib.figure.Figure`` created directly, so long-lived
kernels leak no figures and tests can check the Axes data instead of pixels.
"""

from .charts import metric_bars, metric_histories, parallel_coordinates, param_scatter, png_bytes

__all__ = ["metric_bars", "metric_histories", "parallel_coordinates", "param_scatter", "png_bytes"]

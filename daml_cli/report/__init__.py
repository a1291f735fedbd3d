"""Human-facing outputs: retrieval pages (HTML), retrieval grids (PNG), t-SNE plots (PNG) and step charts
(curves.png of a run or a study: chart.py, chart_style.py).

Drawing uses Pillow only (matplotlib is not a dependency).
"""

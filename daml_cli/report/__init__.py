"""Human-facing outputs: retrieval pages (HTML), retrieval grids (PNG) and t-SNE plots (PNG).

Drawing uses Pillow only (matplotlib is not a dependency).
"""

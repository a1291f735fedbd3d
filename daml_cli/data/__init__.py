"""Datasets: manifests, preparers, samplers and image loading."""

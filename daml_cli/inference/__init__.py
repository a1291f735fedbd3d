"""Turning images into embeddings with a trained model."""

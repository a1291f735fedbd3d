"""Metric-learning losses as pure tensor functions over index tuples, and the DAML terms."""

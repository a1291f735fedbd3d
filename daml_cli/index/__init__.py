"""The gallery index: FAISS build/save/load/search, its JSON metadata sidecar, and the EMB.npz file format.

Nothing here imports FAISS at import time; `daml_cli.index.faiss_lib` loads it on first use.
"""

"""The EMB.npz artefact (embeddings, labels, paths) and the checks every embedding matrix passes."""

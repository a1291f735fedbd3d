"""Evaluation metrics: exact chunked k-NN search (`knn`), Recall@K / MAP@R / R-precision (`retrieval`),
k-means / NMI / pairwise F1 (`clustering`), and `evaluate.evaluate_embeddings`, which runs them all."""

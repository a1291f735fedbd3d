"""`daml serve`: answer retrieval queries over HTTP with the model and the index loaded once."""

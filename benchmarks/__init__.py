"""The engine's benchmark against scikit-learn, faiss and numpy, and the parity report."""

"""Registry models on engines teams already run: MLServer and KServe (each behind its own extra)."""

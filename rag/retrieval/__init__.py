"""Retrieve: dense and keyword candidates fused, re-scored and collapsed (retrieve); an optional cross-encoder
(rerank)."""

"""Load → split: files become documents (load), documents become sentence-aware chunks (split)."""

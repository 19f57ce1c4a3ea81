"""The saved index and keeping it current: the manifest and its generations (index), FAISS vectors
(vector_store), chunk text read on demand (chunk_store), BM25 keywords (keyword), a folder kept in step with
its index, embedding only what changed (sync), and one index folder's lifecycle: open, refresh, change on a
writable copy, remove, list (library.Library, what rag.RAG delegates its documents to)."""

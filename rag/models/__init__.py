"""The models: where their weights come from (weights), the embedder (embed), the generator and its runtimes
(generate), and what the CPU can do (cpu)."""

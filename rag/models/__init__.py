"""The models: where their weights come from (weights), the embedder (embed), the generator and its runtimes
(generate, server), what the CPU can do (cpu), and each model's fitted thresholds (calibration)."""

"""Training: losses, deterministic batches, and the shared trainer (checkpoints, resume, DDP)."""

"""Training: the loop, objectives (baseline and DAML), checkpoints, logs."""

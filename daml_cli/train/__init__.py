"""Training: the loop, the phase-table update every method shares, the methods (train/methods/), checkpoints, logs."""

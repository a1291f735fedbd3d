"""Dataset preparers: one module per dataset, all writing ROOT/NAME/{images, manifest.csv}."""

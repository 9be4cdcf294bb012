"""Finding photos and putting them in the catalog: the walk, the per-file pipeline, the
index run, live watching and the share of the CPU cores."""

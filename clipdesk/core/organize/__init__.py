"""What is computed from stored vectors: tags (automatic, a person's, taught), captions,
and burst / near-duplicate groups."""

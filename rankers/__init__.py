"""Learning-to-rank: per-user state, feature vectors, LightGBM models and their evaluation."""

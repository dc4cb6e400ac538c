"""Scoring: the population at T scored chunk by chunk, drift, freshness and realised outcomes."""

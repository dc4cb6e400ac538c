"""Modeling: training snapshots, LightGBM, calibration, baselines, leakage, evaluation, promotion, the model file."""

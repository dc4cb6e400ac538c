"""The data edge: the contract's tables, reading sources, cleaning, mappings, write-back, the demo generator."""

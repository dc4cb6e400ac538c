"""The commands: one module per command and the steps they share."""

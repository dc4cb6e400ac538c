"""Reporting: export writers, atomic publishing, the report's data, HTML and plots."""

"""Reasons: model contributions turned into words, in English and German."""

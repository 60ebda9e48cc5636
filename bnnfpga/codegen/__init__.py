"""Backends' code generators: render templates from the folded IR."""

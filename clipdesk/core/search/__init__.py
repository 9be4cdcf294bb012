"""Queries: text and look-alike search, and ranking with a relevance cutoff."""

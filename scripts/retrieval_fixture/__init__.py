"""Helpers of scripts/make_retrieval_fixture.py: a small Llama trained to retrieve passkeys."""

"""Authoring: student stubs and notebooks generated from the reference solution."""

"""The pipeline's fixtures (a sales team with a contact form, a dispatcher running the real handlers), for the
specifications where a form goes through the pipeline."""

from tests.pipeline.conftest import clock, sales, worker

__all__ = ["clock", "sales", "worker"]

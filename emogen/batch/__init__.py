"""Batch generation from a job file: typed, validated jobs; sweeps; a resumable manifest; sharding; a report.

    from emogen.batch import load_jobs, run_batch
    jobs = load_jobs("jobs.yaml", out="runs/batch")   # checked and expanded, nothing run
    result = run_batch("jobs.yaml", out="runs/batch")  # runs what is not finished yet

The job file format is described in emogen.batch.jobs, resumability in emogen.batch.manifest and
sharding in emogen.batch.sharding. Modalities (and how to add one) are in emogen.batch.modalities.
"""
from emogen.batch.jobs import Job, JobFileError, load_jobs
from emogen.batch.modalities import MODALITIES
from emogen.batch.run import BatchResult, run_batch

__all__ = ["MODALITIES", "BatchResult", "Job", "JobFileError", "load_jobs", "run_batch"]

"""The distributed deployment: PostgreSQL and Procrastinate workers on any number of machines.

``tasks`` (the jobs and how they are deferred) · ``runtime`` (what a worker holds; one method a
job) · ``jobs`` (the Procrastinate app, its schema, stalled jobs, the job listing) ·
``scheduling`` (`monitor schedule`: defer what is due) · ``service`` (the processes, built from a
config).
"""

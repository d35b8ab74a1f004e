"""`hotline jobs`: list the report jobs that failed, and requeue them (audited)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ivr.hotline import current_hotline
from ivr.staff import jobs

ACTOR = "cli"


@click.group("jobs")
def jobs_group() -> None:
    """Report jobs that failed after all their retries."""


@jobs_group.command("failed")
@with_appcontext
def failed() -> None:
    """Every failed report job: its id, precinct, when it failed, and its error's last line."""
    found = jobs.failed_jobs(current_hotline().redis)
    for job in found:
        when = job.failed_at.isoformat(timespec="seconds") if job.failed_at else ""
        click.echo(f"{job.id}\t{job.precinct_id}\t{when}\t{job.error}")
    if not found:
        click.echo("no failed report jobs", err=True)


@jobs_group.command("requeue")
@click.argument("job_ids", nargs=-1)
@click.option("--all", "requeue_all", is_flag=True, help="Every failed report job.")
@with_appcontext
def requeue(job_ids: tuple[str, ...], requeue_all: bool) -> None:
    """Put failed report jobs JOB_ID... (or --all of them) back on the reports queue."""
    if bool(job_ids) == requeue_all:
        raise click.UsageError("give JOB_IDs or --all, not both or neither")
    hotline = current_hotline()
    try:
        with hotline.sessions.begin() as db:
            if requeue_all:
                requeued = jobs.requeue_all(db, hotline.redis, ACTOR)
            else:
                requeued = jobs.requeue(db, hotline.redis, job_ids, ACTOR)
    except jobs.JobError as error:
        raise click.ClickException(str(error)) from error
    for job_id in requeued:
        click.echo(f"requeued {job_id}")
    click.echo(f"requeued {len(requeued)} job(s)", err=True)

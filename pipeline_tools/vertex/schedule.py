"""Vertex AI Pipelines' own schedules: Vertex AI starts the compiled pipeline on a cron, no server of ours.

    python -m pipeline_tools.vertex.runner --project ... --schedule           # upload, compile, create it
    python -m pipeline_tools.vertex.runner --project ... --upload-data        # next month: a newer span range
    python -m pipeline_tools.vertex.runner --project ... --pause-schedule     # or --resume-schedule
    python -m pipeline_tools.vertex.runner --project ... --delete-schedule

A schedule (`aiplatform.PipelineJobSchedule`) holds the PipelineJob request a submit would send
(the blueprint, pipeline root, labels, service account) and creates one such run at each time its
cron line names, at most `schedule_max_concurrent_runs` at once, until `schedule_max_runs`. The
blueprint reads `<pipeline>/spans/span-{SPAN}/*` and CsvExampleGen resolves {SPAN} when each run
starts, so every scheduled run learns from the newest span range uploaded (staging.py); with no
new data, its tasks are cache hits (after a push, from the second such run on). The gates, the
Evaluator and the Pusher decide, as in any run, whether the new model replaces the served one.

Building a schedule needs no network; creating, pausing, resuming and deleting one do, and a dry
run refuses them.
"""

from typing import Any

from pipeline_tools.vertex.settings import VertexSettings

# Where a scheduled run's cost comes from (the Vertex AI pricing and "machine types" pages, 2026-11).
COST = (
    "What a scheduled run costs is what a submitted run costs:",
    "  - Vertex AI Pipelines' fee per run (Vertex AI pricing page, section Vertex AI Pipelines);",
    "  - each task that is not a cache hit runs as a Vertex AI CustomJob on an e2-standard-4 (4 vCPUs, 16 GB)",
    "    unless set otherwise, billed at Vertex AI's training rate for as long as it runs, pulling its image",
    "    included; a cache hit starts no machine. On unchanged data the first rerun after a push runs the four",
    "    tasks that read the served model (data gate, Evaluator, model gate, Pusher), later ones only the fee;",
    "  - with the switches on: the training job's machine, Dataflow's workers, and the endpoint's nodes",
    "    (billed per node-hour whether or not a run happens; the clean-up step undeploys idle models);",
    "  - Cloud Storage for the artifacts every run adds under the pipeline root.",
    "Vertex AI labels each run, and the task containers it starts, vertex-ai-pipelines-run-billing-id; the",
    "Dataflow jobs, the training job and the endpoint carry the run's labels (tutorial, pipeline, tfx-version",
    "and yours), which the pipeline passes on itself. The Cloud Billing export to BigQuery sums them.",
)


def display_name(settings: VertexSettings) -> str:
    """The schedule's name: the pipeline's, so that pause and delete find it again."""
    return f"{settings.pipeline.pipeline_name}-schedule"


def arguments(settings: VertexSettings) -> dict[str, Any]:
    """What `PipelineJob.create_schedule` is given, from the settings."""
    return {
        "cron": settings.schedule_cron.strip(),
        "display_name": display_name(settings),
        "max_concurrent_run_count": settings.schedule_max_concurrent_runs,
        "max_run_count": settings.schedule_max_runs or None,
        "service_account": settings.service_account,
    }


def plan(settings: VertexSettings, task_count: int) -> str:
    """The schedule a real run creates, how to pause and delete it, and what its runs cost."""
    given = arguments(settings)
    runner = "python -m pipeline_tools.vertex.runner --project ... --bucket ... --service-account ..."
    lines = [
        f"schedule {given['display_name']!r} in projects/{settings.project}/locations/{settings.region}",
        f"  starts a run of the {task_count}-task blueprint at: {given['cron']}",
        f"  at most {given['max_concurrent_run_count']} run(s) at once; "
        + (f"ends after {given['max_run_count']} runs" if given["max_run_count"] else "runs until paused or deleted"),
        f"  runs as {given['service_account']}",
        f"  pause: {runner} --pause-schedule   (resume: --resume-schedule)",
        f"  delete: {runner} --delete-schedule",
        f"  new data for the next run: {runner} --upload-data --spans <first>-<newest>",
        "",
        *COST,
    ]
    return "\n".join(lines)


def create(job, settings: VertexSettings, dry_run: bool):
    """Creates the schedule of a built PipelineJob (needs the network); refused in a dry run."""
    if dry_run:
        raise ValueError(
            "a dry run creates no schedule: set your project, bucket and service account and turn dry_run off "
            "(the schedule starts real, billed runs)"
        )
    schedule = job.create_schedule(**arguments(settings))
    print("created schedule:", schedule.resource_name)
    print(f"  first run at the next time matching {settings.schedule_cron!r}; pause it with --pause-schedule")
    return schedule


def find(settings: VertexSettings, credentials) -> list:
    """The schedules named after this pipeline, in its project and region. Needs the network."""
    from google.cloud import aiplatform

    return aiplatform.PipelineJobSchedule.list(
        filter=f'display_name="{display_name(settings)}"',
        project=settings.project,
        location=settings.region,
        credentials=credentials,
    )


def change(settings: VertexSettings, credentials, action: str) -> list[str]:
    """Pauses, resumes or deletes this pipeline's schedules; returns their resource names. Needs the network."""
    if action not in ("pause", "resume", "delete"):
        raise ValueError(f"schedule action {action!r}: pause, resume or delete")
    found = find(settings, credentials)
    if not found:
        print(f"no schedule named {display_name(settings)!r} in {settings.project}/{settings.region}")
    names = []
    for schedule in found:
        getattr(schedule, action)()
        names.append(schedule.resource_name)
        print(f"{action}d schedule:", schedule.resource_name)
    return names

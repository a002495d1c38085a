"""Vertex AI Pipelines' own schedules and the spans on Cloud Storage, offline.

The schedule is built by google-cloud-aiplatform's real code (`PipelineJob.create_schedule`,
`PipelineJobSchedule.list`, `.pause()`, `.resume()`, `.delete()`); only the Schedule service's
client, the one object that would reach the network, is a fake that keeps what it was sent.
"""

import re

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.aiplatform import initializer, utils
from google.cloud.aiplatform.compat.types import schedule as gca_schedule

from conftest import REPO_ROOT
from pipeline_tools.settings import PipelineSettings
from pipeline_tools.vertex import runner, schedule, staging
from pipeline_tools.vertex.settings import VertexSettings

DATA_DIR = str(REPO_ROOT / "data_local")
REAL = dict(
    project="acme-ml-prod",
    bucket="acme-ml-pipelines",
    service_account="tfx-pipelines@acme-ml-prod.iam.gserviceaccount.com",
)


class _Done:
    """A finished long-running operation, as the service returns one for a deletion."""

    def __init__(self, name):
        self.operation = type("Operation", (), {"name": f"{name}/operations/1"})()

    def result(self, timeout=None):
        return None


class FakeScheduleService:
    """The Schedule service, in memory: what aiplatform's code sends it, and the schedules it holds."""

    def __init__(self):
        self.schedules: dict[str, gca_schedule.Schedule] = {}
        self.calls: list[tuple[str, str]] = []

    def create_schedule(self, parent, schedule, timeout=None):
        created = gca_schedule.Schedule.deserialize(gca_schedule.Schedule.serialize(schedule))
        created.name = f"{parent}/schedules/{len(self.schedules) + 1}"
        created.state = gca_schedule.Schedule.State.ACTIVE
        self.schedules[created.name] = created
        self.calls.append(("create", created.name))
        return created

    def list_schedules(self, request):
        wanted = re.fullmatch(r'display_name="([^"]+)"', request["filter"]).group(1)
        return [found for found in self.schedules.values() if found.display_name == wanted]

    def get_schedule(self, name, **_):
        return self.schedules[name]

    def pause_schedule(self, name):
        self.schedules[name].state = gca_schedule.Schedule.State.PAUSED
        self.calls.append(("pause", name))

    def resume_schedule(self, name):
        self.schedules[name].state = gca_schedule.Schedule.State.ACTIVE
        self.calls.append(("resume", name))

    def delete_schedule(self, name, **_):
        del self.schedules[name]
        self.calls.append(("delete", name))
        return _Done(name)


@pytest.fixture
def service(monkeypatch):
    """The fake Schedule service, in place of the client aiplatform would create."""
    fake = FakeScheduleService()
    create_client = initializer.global_config.create_client

    def client(client_class, **arguments):
        if client_class is utils.ScheduleClientWithOverride:
            return fake
        return create_client(client_class=client_class, **arguments)

    monkeypatch.setattr(initializer.global_config, "create_client", client)
    return fake


@pytest.fixture
def prepared(tmp_path, monkeypatch):
    """A real run prepared against fakes: uploads recorded, blueprint and PipelineJob real."""
    uploaded = []
    monkeypatch.setattr(staging, "upload", lambda inputs, settings, credentials: uploaded.append(inputs))
    monkeypatch.setattr(runner, "credentials_for", lambda dry_run: AnonymousCredentials())
    settings = VertexSettings(**REAL, schedule_cron="TZ=Europe/Berlin 0 5 3 * *", schedule_max_runs=12)
    return runner.prepare(settings, dry_run=False, output_dir=str(tmp_path)), uploaded


def test_the_schedule_sends_the_job_a_submit_would_send_with_its_cron_and_limits(service, prepared):
    prepared, uploaded = prepared
    settings = prepared.settings
    created = schedule.create(prepared.job, settings, dry_run=False)
    [(call, name)] = service.calls
    assert call == "create" and created.resource_name == name
    sent = service.schedules[name]
    assert name.startswith("projects/acme-ml-prod/locations/us-central1/schedules/")
    assert sent.display_name == "cfpb-consumer-disputes-schedule"
    assert sent.cron == "TZ=Europe/Berlin 0 5 3 * *"
    assert sent.max_concurrent_run_count == 1 and sent.max_run_count == 12
    job = sent.create_pipeline_job_request.pipeline_job
    assert job.service_account == settings.service_account
    assert job.runtime_config.gcs_output_directory == settings.pipeline_root
    assert job.labels["tutorial"] == "tfx-cfpb"
    # The very blueprint the run compiled, tasks and all; it reads the newest span range uploaded.
    tasks = job.pipeline_spec["root"]["dag"]["tasks"]
    assert sorted(tasks) == sorted(prepared.blueprint["pipelineSpec"]["root"]["dag"]["tasks"])
    assert uploaded[0].data_root == "gs://acme-ml-pipelines/cfpb-consumer-disputes/spans"


def test_pause_resume_and_delete_find_the_schedule_by_name(service, prepared):
    prepared, _ = prepared
    settings = prepared.settings
    schedule.create(prepared.job, settings, dry_run=False)
    [name] = service.schedules
    credentials = AnonymousCredentials()
    assert schedule.change(settings, credentials, "pause") == [name]
    assert service.schedules[name].state == gca_schedule.Schedule.State.PAUSED
    assert schedule.change(settings, credentials, "resume") == [name]
    assert service.schedules[name].state == gca_schedule.Schedule.State.ACTIVE
    assert schedule.change(settings, credentials, "delete") == [name]
    assert service.schedules == {}
    assert schedule.change(settings, credentials, "delete") == []  # Nothing left: said, not raised.
    assert [call for call, _ in service.calls] == ["create", "pause", "resume", "delete"]


def test_a_dry_run_creates_no_schedule(service, tmp_path, capsys):
    """With placeholders the runner compiles, then refuses the schedule and sends nothing."""
    with pytest.raises(SystemExit):
        runner.main(["--output-dir", str(tmp_path), "--schedule"])
    assert "a dry run creates no schedule" in capsys.readouterr().err
    prepared = runner.prepare(VertexSettings(), dry_run=True, output_dir=str(tmp_path))
    with pytest.raises(ValueError, match="a dry run creates no schedule"):
        schedule.create(prepared.job, prepared.settings, dry_run=True)
    for action in ("--pause-schedule", "--resume-schedule", "--delete-schedule", "--upload-data"):
        with pytest.raises(SystemExit):
            runner.main([action])
        assert "still hold placeholders" in capsys.readouterr().err
    assert service.calls == []


def test_the_schedule_description_says_how_to_stop_it_and_what_it_costs():
    text = schedule.plan(VertexSettings(**REAL), task_count=12)
    assert "starts a run of the 12-task blueprint at: TZ=America/New_York 0 6 2 * *" in text
    assert "runs until paused or deleted" in text and "--pause-schedule" in text and "--delete-schedule" in text
    assert "fee per run" in text and "e2-standard-4" in text and "vertex-ai-pipelines-run-billing-id" in text


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("schedule_cron", "every month", "schedule_cron 'every month' is not a cron line"),
        ("schedule_cron", "0 6 2 *", "is not a cron line"),
        ("schedule_max_concurrent_runs", 0, "schedule_max_concurrent_runs must be an integer of at least 1"),
        ("schedule_max_runs", -1, "schedule_max_runs must be an integer of at least 0"),
    ],
)
def test_impossible_schedules_are_refused_by_name(setting, value, message):
    with pytest.raises(ValueError, match=message):
        VertexSettings(**{setting: value})


def test_a_span_range_goes_to_one_folder_named_after_its_newest_month(tmp_path):
    settings = VertexSettings(**REAL, pipeline=PipelineSettings(spans="201506-201511"))
    inputs = staging.plan_uploads(settings, DATA_DIR, str(REPO_ROOT / "module.py"), str(tmp_path))
    assert inputs.spans == "201506-201511"
    data = [item for item in inputs.uploads if item.source.endswith("complaints.csv")]
    assert [item.destination.rsplit("/", 2)[-2:] for item in data] == [
        ["span-201511", f"{month}.csv"] for month in range(201506, 201512)
    ]
    assert data[0].source == f"{DATA_DIR}/span-201506/complaints.csv"
    with pytest.raises(ValueError, match="selects none of the spans"):
        staging.plan_uploads(
            VertexSettings(pipeline=PipelineSettings(spans="201601-201612")),
            DATA_DIR,
            str(REPO_ROOT / "module.py"),
            str(tmp_path),
        )


def test_upload_data_uploads_the_next_range_and_nothing_else(monkeypatch, capsys):
    uploaded = []
    monkeypatch.setattr(staging, "upload", lambda inputs, settings, credentials: uploaded.append(inputs))
    monkeypatch.setattr(runner, "credentials_for", lambda dry_run: AnonymousCredentials())
    assert runner.main([*_flags(REAL), "--upload-data", "--spans", "201503-201512"]) == 0
    [inputs] = uploaded
    assert [item.destination.rsplit("/", 1)[-1] for item in inputs.uploads] == [
        f"{month}.csv" for month in range(201503, 201513)
    ]
    assert {item.destination.rsplit("/", 2)[-2] for item in inputs.uploads} == {"span-201512"}
    assert "spans 201503-201512 in gs://acme-ml-pipelines/cfpb-consumer-disputes/spans" in capsys.readouterr().out


def _flags(values):
    return [part for name, value in values.items() for part in (f"--{name.replace('_', '-')}", value)]

"""Fakes of the Google Cloud APIs a pipeline task calls: Vertex AI's Job, Model and Endpoint services.

A task on Vertex AI reaches these services over the network with the credentials of the service
account it runs as. Here a `sitecustomize.py` (written by `install_network`, the one entry the
stand-in puts on a task's PYTHONPATH) replaces, inside the task's process, the three GAPIC clients
google-cloud-aiplatform and TFX create, and the credentials lookup; everything above them (TFX's
Trainer and Pusher executors, aiplatform's Model.upload / deploy / Endpoint, our clean-up step) is
the real code. The services' state lives in one JSON file, so that a later task, a later run and
the test see what an earlier task did.

What they do, and nothing more (from the Vertex AI REST reference for customJobs, models and
endpoints): a custom job records its request and runs its first worker pool's container command in
that image's environment, as the job's VM would, then reports SUCCEEDED or FAILED; upload_model
stores the model; create_endpoint stores the endpoint with its labels; deploy_model gives the
deployed model an id (the "0" of the request's traffic split means the new one) and sets the
split; undeploy_model removes one, refusing a model that still has traffic when the split given
would not sum to 100. Anything else they are asked fails: AttributeError.
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

STATE = "cloud_state.json"


def install_network(folder: str, images: dict[str, dict[str, str]], python: str = sys.executable) -> str:
    """Writes the folder a task gets on its PYTHONPATH: this module, and a sitecustomize.py that installs
    it. images: {image URI: environment} of the images a training job may run in."""
    os.makedirs(folder, exist_ok=True)
    shutil.copy(__file__, os.path.join(folder, "vertex_cloud_fakes.py"))
    with open(os.path.join(folder, STATE), "w", encoding="utf-8") as handle:
        json.dump({"images": images, "python": python, "custom_jobs": [], "models": {}, "endpoints": {}}, handle)
    with open(os.path.join(folder, "sitecustomize.py"), "w", encoding="utf-8") as handle:
        handle.write("import vertex_cloud_fakes\n\nvertex_cloud_fakes.install()\n")
    return folder


def read_state(folder: str) -> dict:
    with open(os.path.join(folder, STATE), encoding="utf-8") as handle:
        return json.load(handle)


class _State:
    """The services' state, read before each call and written after it (tasks run one at a time)."""

    def __init__(self):
        self.path = os.path.join(os.path.dirname(os.path.abspath(__file__)), STATE)

    def __enter__(self) -> dict:
        with open(self.path, encoding="utf-8") as handle:
            self.data = json.load(handle)
        return self.data

    def __exit__(self, *error):
        if error[0] is None:
            with open(self.path, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, indent=1)


class _Done:
    """A long-running operation that has finished."""

    def __init__(self, response):
        self._response = response
        self.operation = type("Operation", (), {"name": "operations/0"})()

    def result(self, timeout=None):
        return self._response


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class FakeJobService:
    """JobServiceClient: custom jobs, run at once."""

    def __init__(self, client_options=None, **_):
        self.client_options = client_options

    def create_custom_job(self, parent, custom_job, **_):
        from google.cloud.aiplatform_v1.types import custom_job as gca_job

        job = gca_job.CustomJob(custom_job)  # Refuses a request that is not a CustomJob, as the API would.
        with _State() as state:
            job.name = f"{parent}/customJobs/{len(state['custom_jobs']) + 1}"
            request = json.loads(gca_job.CustomJob.to_json(job))
            state["custom_jobs"].append({"request": request, "state": "JOB_STATE_RUNNING"})
            images, python = state["images"], state["python"]
        container = job.job_spec.worker_pool_specs[0].container_spec
        if container.image_uri not in images:
            raise RuntimeError(f"custom job: image {container.image_uri} does not exist")
        status, log = _run_job(list(container.command) + list(container.args), images[container.image_uri], python)
        with _State() as state:
            state["custom_jobs"][-1].update(
                state="JOB_STATE_SUCCEEDED" if status == 0 else "JOB_STATE_FAILED", log=log[-5000:]
            )
        return job

    def get_custom_job(self, name, **_):
        from google.cloud.aiplatform_v1.types import custom_job as gca_job

        with _State() as state:
            [found] = [job for job in state["custom_jobs"] if job["request"]["name"] == name]
        job = gca_job.CustomJob.from_json(json.dumps(found["request"]))
        job.state = found["state"]
        if found["state"] == "JOB_STATE_FAILED":
            job.error.message = found["log"][-1000:]
        return job


def _run_job(command: list[str], environment: dict[str, str], python: str) -> tuple[int, str]:
    """The job's container command, in its image's environment only, as the job's machine runs it."""
    if command[0] != "python":
        raise RuntimeError(f"custom job: the fake runs Python commands only, not {command[0]!r}")
    home = tempfile.mkdtemp(prefix="custom-job-")
    env = {"PATH": f"{os.path.dirname(python)}:/usr/bin:/bin", "HOME": home, **environment}
    result = subprocess.run([python, *command[1:]], cwd=home, env=env, capture_output=True, text=True, timeout=1800)
    return result.returncode, result.stdout + result.stderr


class FakeModelService:
    """ModelServiceClient: uploaded models."""

    def upload_model(self, request, **_):
        from google.cloud.aiplatform.compat.types import model as gca_model
        from google.cloud.aiplatform.compat.types import model_service as gca_model_service

        model = gca_model.Model(request.model)
        with _State() as state:
            model.name = f"{request.parent}/models/{len(state['models']) + 1}"
            model.version_id = "1"
            state["models"][model.name] = json.loads(gca_model.Model.to_json(model))
        return _Done(gca_model_service.UploadModelResponse(model=model.name, model_version_id="1"))

    def get_model(self, name, **_):
        from google.cloud.aiplatform.compat.types import model as gca_model

        with _State() as state:
            return gca_model.Model.from_json(json.dumps(state["models"][name.split("@")[0]]))


class FakeEndpointService:
    """EndpointServiceClient: endpoints, and the models deployed on them."""

    def list_endpoints(self, request, **_):
        wanted = request.get("filter", "")
        with _State() as state:
            found = [self._load(data) for data in state["endpoints"].values()]
        return [endpoint for endpoint in found if not wanted or wanted == f'display_name="{endpoint.display_name}"']

    def get_endpoint(self, name, **_):
        with _State() as state:
            return self._load(state["endpoints"][name])

    def create_endpoint(self, parent, endpoint, endpoint_id=None, **_):
        with _State() as state:
            endpoint.name = f"{parent}/endpoints/{endpoint_id or len(state['endpoints']) + 1}"
            self._save(state, endpoint)
        return _Done(endpoint)

    def deploy_model(self, endpoint, deployed_model, traffic_split, **_):
        from google.cloud.aiplatform.compat.types import endpoint_service as gca_endpoint_service

        with _State() as state:
            found = self._load(state["endpoints"][endpoint])
            if deployed_model.model.split("@")[0] not in state["models"]:
                raise RuntimeError(f"deploy_model: model {deployed_model.model} does not exist")
            deployed_model.id = str(sum(len(e["deployedModels"]) for e in state["endpoints"].values()) + 1001)
            deployed_model.create_time = datetime.datetime.now(datetime.timezone.utc)
            found.deployed_models.append(deployed_model)
            split = {(deployed_model.id if key == "0" else key): value for key, value in traffic_split.items()}
            _check_split(split, found)
            found.traffic_split.clear()
            found.traffic_split.update(split)
            self._save(state, found)
        return _Done(gca_endpoint_service.DeployModelResponse(deployed_model=deployed_model))

    def undeploy_model(self, endpoint, deployed_model_id, traffic_split=None, **_):
        with _State() as state:
            found = self._load(state["endpoints"][endpoint])
            remaining = [model for model in found.deployed_models if model.id != deployed_model_id]
            if len(remaining) == len(found.deployed_models):
                raise RuntimeError(f"undeploy_model: {deployed_model_id} is not deployed on {endpoint}")
            split = dict(traffic_split or {}) if traffic_split else dict(found.traffic_split)
            split.pop(deployed_model_id, None)
            del found.deployed_models[:]
            found.deployed_models.extend(remaining)
            if remaining:
                _check_split(split, found)
            found.traffic_split.clear()
            found.traffic_split.update(split if remaining else {})
            self._save(state, found)
        return _Done(None)

    @staticmethod
    def _load(data: dict):
        from google.cloud.aiplatform.compat.types import endpoint as gca_endpoint

        return gca_endpoint.Endpoint.from_json(json.dumps(data))

    @staticmethod
    def _save(state: dict, endpoint) -> None:
        from google.cloud.aiplatform.compat.types import endpoint as gca_endpoint

        state["endpoints"][endpoint.name] = json.loads(gca_endpoint.Endpoint.to_json(endpoint))


def _check_split(split: dict, endpoint) -> None:
    deployed = {model.id for model in endpoint.deployed_models}
    if set(split) - deployed or sum(split.values()) != 100:
        raise RuntimeError(f"traffic split {split} must name deployed models {sorted(deployed)} and sum to 100")


# --- Inside the task's process ---------------------------------------------------------------------------


def install() -> None:
    """Replaces the clients and the credentials lookup as the modules that hold them are imported."""
    import importlib.abc

    patches = {
        "google.auth": _patch_auth,
        "google.cloud.aiplatform.gapic": _patch_gapic,
        "google.cloud.aiplatform.initializer": _patch_initializer,
        "google.cloud.aiplatform.utils.gcs_utils": _patch_staging,
    }

    class AfterImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name not in patches:
                return None
            for finder in sys.meta_path:
                if finder is not self and hasattr(finder, "find_spec"):
                    spec = finder.find_spec(name, path, target)
                    if spec is not None:
                        break
            else:
                return None
            execute = spec.loader.exec_module

            def exec_module(module):
                execute(module)
                patches[name](module)

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, AfterImport())


def _patch_auth(module) -> None:
    """The task's service account, from the metadata server: here, anonymous credentials."""
    from google.auth.credentials import AnonymousCredentials

    module.default = lambda *args, **kwargs: (AnonymousCredentials(), None)


def _patch_staging(module) -> None:
    """Model.upload given a local folder first copies it to a staging bucket. On Vertex AI the Pusher's
    model is already on Cloud Storage and nothing is staged; here the pipeline root is local, so the
    copy goes to a folder standing for the bucket, and the gs:// path is handed on."""

    def stage_local_data_in_gcs(data_path, staging_gcs_dir=None, project=None, location=None, credentials=None):
        staged = f"vertex-staging/{os.path.basename(os.path.normpath(data_path))}-{len(os.listdir(_bucket_root()))}"
        shutil.copytree(data_path, os.path.join(_bucket_root(), staged))
        return f"gs://stand-in-staging/{staged}"

    module.stage_local_data_in_gcs = stage_local_data_in_gcs


def _bucket_root() -> str:
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "staging_bucket")
    os.makedirs(root, exist_ok=True)
    return root


def _patch_gapic(module) -> None:
    module.JobServiceClient = FakeJobService


def _patch_initializer(module) -> None:
    create_client = module.global_config.create_client
    fakes = {"EndpointClientWithOverride": FakeEndpointService, "ModelClientWithOverride": FakeModelService}

    def client(client_class, **arguments):
        fake = fakes.get(client_class.__name__)
        return fake() if fake else create_client(client_class=client_class, **arguments)

    module.global_config.create_client = client

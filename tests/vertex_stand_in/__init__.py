"""A stand-in for Vertex AI Pipelines: executes a compiled blueprint task by task on this machine.

It does what KFP's `pipeline_spec.proto` (kubeflow/pipelines, api/v2alpha1) and Vertex AI's
documentation say the service does, and nothing more; what it does not model fails loudly
(`StandInError`). `service` runs blueprints (placeholders, pre-cache checks, caching, resolver
queries, artifact states); `images` is what each image's Dockerfile sets; `cloud` fakes the Google
Cloud APIs a task calls (training jobs, models, endpoints) and runs a training job's container as
the job would. Learned from those sources; written here.
"""

from vertex_stand_in.images import ImageCatalogue
from vertex_stand_in.service import Artifact, RunResult, StandIn, StandInError, TaskResult

__all__ = ["Artifact", "ImageCatalogue", "RunResult", "StandIn", "StandInError", "TaskResult"]

"""The shared pipeline on Vertex AI Pipelines, one module per step.

settings   VertexSettings: project, bucket, service account, the three switches; their checks
services   TFX's Transform, Trainer and Pusher on Vertex AI: the user-code wheel, a training job, an endpoint
staging    the content-addressed upload of the data, module.py and the schema to Cloud Storage
blueprint  reading the compiled JSON: tasks in order, parameters, images, Beam options
endpoint   the endpoint a blessed model is deployed to: requests, finding it, deleting it
runner     check, upload, compile, submit; `python -m pipeline_tools.vertex.runner --help`
"""

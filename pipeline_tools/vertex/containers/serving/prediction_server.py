"""Serves the pushed model on a Vertex AI endpoint: TensorFlow's SavedModel loader behind Vertex's HTTP contract.

Vertex AI starts the container with these environment variables (its custom-container contract):
  AIP_HTTP_PORT      the port to listen on (8080 unless set)
  AIP_HEALTH_ROUTE   answer 200 there once the model is loaded
  AIP_PREDICT_ROUTE  where prediction requests arrive (POST)
  AIP_STORAGE_URI    the gs:// folder Vertex AI copied the model to (`Model.upload(artifact_uri=...)`)

A request is what the prebuilt TensorFlow Serving containers take for a signature with one input,
{"instances": [{"examples": {"b64": "<serialized tf.Example>"}}, ...]}, and the answer is
{"predictions": [p, ...]}, one dispute probability per instance. TFX's Vertex Pusher passes only
the image URI to `Model.upload`, so the routes are Vertex AI's defaults, read from the variables.

Standard library and TensorFlow only: the image installs nothing else.
"""

import base64
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import tensorflow as tf

SIGNATURE = "serving_default"


def serialized_examples(instances: list) -> list[bytes]:
    """The serialized tf.Examples of a request's instances ({"examples": {"b64": ...}} or {"b64": ...})."""
    found = []
    for instance in instances:
        value = instance.get("examples", instance) if isinstance(instance, dict) else instance
        if not isinstance(value, dict) or "b64" not in value:
            raise ValueError('each instance must be {"examples": {"b64": "<base64 serialized tf.Example>"}}')
        found.append(base64.b64decode(value["b64"]))
    return found


class Model:
    """The SavedModel's serving signature, loaded once."""

    def __init__(self, model_dir: str):
        self.signature = tf.saved_model.load(model_dir).signatures[SIGNATURE]
        [self.output] = self.signature.structured_outputs  # One output: answered as its value, not a dict.

    def predict(self, instances: list) -> list[float]:
        result = self.signature(examples=tf.constant(serialized_examples(instances)))
        return [float(value) for value in result[self.output].numpy().ravel()]


def handler_for(model: Model, health_route: str, predict_route: str) -> type:
    """The HTTP handler: health on GET health_route, predictions on POST predict_route."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # The names http.server calls.
            if self.path == health_route:
                self._answer(200, {"status": "ready"})
            else:
                self._answer(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            if self.path != predict_route:
                self._answer(404, {"error": f"no route {self.path}"})
                return
            try:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self._answer(200, {"predictions": model.predict(request["instances"])})
            except (ValueError, KeyError, TypeError, tf.errors.OpError) as error:
                self._answer(400, {"error": f"{type(error).__name__}: {error}"})

        def log_message(self, format: str, *args) -> None:
            print(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", file=sys.stderr)

    return Handler


def main() -> int:
    """Loads the model from AIP_STORAGE_URI and serves until stopped."""
    model_dir = os.environ["AIP_STORAGE_URI"]
    port = int(os.environ.get("AIP_HTTP_PORT", "8080"))
    health_route = os.environ.get("AIP_HEALTH_ROUTE", "/health")
    predict_route = os.environ.get("AIP_PREDICT_ROUTE", "/predict")
    model = Model(model_dir)
    print(f"serving {model_dir} on port {port}: GET {health_route}, POST {predict_route}", file=sys.stderr)
    ThreadingHTTPServer(("0.0.0.0", port), handler_for(model, health_route, predict_route)).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())

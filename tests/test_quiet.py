"""pipeline_tools.quiet drops the listed log lines and warnings, and nothing else."""

import logging
import warnings

import pytest

from pipeline_tools import quiet


@pytest.fixture
def records():
    """The records that reach a handler on the root logger after quiet.install()."""
    quiet.install()
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append((record.name, record.levelname, record.getMessage()))

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    levels = {name: logging.getLogger(name).level for name in ("absl", "tensorflow")}
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield seen
    root.removeHandler(handler)
    root.setLevel(old_level)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_every_listed_line_is_dropped(records):
    seen = {
        "absl": [
            "Tables initialized inside a tf.function  will be re-initialized on every invocation",
            "Examples artifact does not have payload_format custom property. Falling back to FORMAT_TF_EXAMPLE",
            "ArtifactQuery.property_predicate is not supported.",
            "ContextQuery.property_predicate is not supported.",
            "Fallback to non-ZetaSQL contexts execution query due to: filter_query is not supported",
        ],
        "apache_beam.runners.interactive.interactive_environment": [
            "Dependencies required for Interactive Beam PCollection visualization are not available",
        ],
        "tensorflow": [
            "From /venv/tfx_bsl/tfxio/tf_example_record.py:343: parse_example_dataset (from tensorflow.python"
            ".data.experimental.ops.parsing_ops) is deprecated and will be removed in a future version.",
        ],
    }
    assert sum(len(lines) for lines in seen.values()) == len(quiet.NOISE)  # One line as seen for each entry.
    for logger, lines in seen.items():
        for line in lines:
            logging.getLogger(logger).warning(line)
    logging.getLogger("tensorflow").info("Assets written to: /tmp/x/assets")
    assert records == []


def test_other_lines_still_show(records):
    logging.getLogger("absl").warning("Tables are fine")  # Not a listed start.
    logging.getLogger("absl").error("Examples artifact is broken")
    logging.getLogger("tensorflow").warning("From a friend: hello")  # Not a deprecation note.
    logging.getLogger("tensorflow").error("Graph execution error")
    logging.getLogger("apache_beam.runners.interactive.interactive_environment").warning("something else")
    logging.getLogger("absl").info("Component Trainer is running.")  # absl's INFO is not filtered.
    assert [message for _, _, message in records] == [
        "Tables are fine",
        "Examples artifact is broken",
        "From a friend: hello",
        "Graph execution error",
        "something else",
        "Component Trainer is running.",
    ]


def test_only_the_listed_warnings_are_ignored():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # Every warning shows, but for those quiet ignores.
        quiet.ignore_known_warnings()
        warnings.warn_explicit(
            "invalid value encountered in divide",
            RuntimeWarning,
            "m.py",
            1,
            module="tensorflow_model_analysis.m",
        )
        warnings.warn_explicit("invalid value encountered in divide", RuntimeWarning, "m.py", 1, module="module")
        warnings.warn_explicit("Support for google-cloud-storage < 3.0.0 will go", FutureWarning, "m.py", 1)
        warnings.warn_explicit("another FutureWarning", FutureWarning, "m.py", 1)
    assert [str(w.message) for w in caught] == ["invalid value encountered in divide", "another FutureWarning"]


def test_tensorflow_cpp_info_lines_are_off_unless_set():
    import os

    quiet.install()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] in {"1", "2", "3"}


def test_tensorflow_import_lines_of_both_stacks_are_dropped_and_others_kept():
    dropped = [
        "2026-11-27 07:17:14.701183: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:479] "
        "Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT",
        "I0000 00:00:1795765931.906546    2529 port.cc:153] oneDNN custom operations are on.",
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow",
    ]
    kept = [
        "E0000 00:00:1795765931.906927    2529 cuda_executor.cc:31] failed call to cuInit",
        "2026-11-27 07:17:14.701183: E tensorflow/core/framework/op_kernel.cc:1] OP_REQUIRES failed",
        "Traceback (most recent call last):",
        "ImportError: libcudart.so.12: cannot open shared object file",
    ]
    assert [quiet.keeps_import_line(line) for line in dropped] == [False] * len(dropped)
    assert [quiet.keeps_import_line(line) for line in kept] == [True] * len(kept)

"""The model gate's rules and the intervals it judges with; the pipeline's picture; the model's preconditions."""

import math

import numpy as np
import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline_tools import schema as schemas
from pipeline_tools.components import intervals
from pipeline_tools.components.model_gate import Evidence, ModelRef, Rules, Verdict, decide

RULES = Rules(min_auc=0.5, min_examples=300, min_positives=50)
CANDIDATE = ModelRef("/models/candidate", trained_model="/trainer/2")
SERVED = ModelRef("/models/served", trained_model="/trainer/1")


def _evidence(auc, examples=900, positives=200, baseline_auc=None):
    found = Evidence(examples, positives, auc, intervals.auc_interval(auc, positives, examples - positives))
    if baseline_auc is None:
        return found
    change = intervals.change_interval(auc, baseline_auc, positives, examples - positives)
    return Evidence(found.examples, found.positives, auc, found.auc_interval, baseline_auc, change)


def _auc(scores_of_positives, scores_of_negatives):
    """The AUC by its definition: how often a positive outscores a negative (ties count half)."""
    greater = (scores_of_positives[:, None] > scores_of_negatives[None, :]).mean()
    return greater + 0.5 * (scores_of_positives[:, None] == scores_of_negatives[None, :]).mean()


@pytest.mark.parametrize("positives, negatives, shift", [(200, 700, 0.4), (56, 207, 0.2), (20, 44, 0.0)])
def test_the_auc_standard_error_matches_what_resampled_eval_sets_show(positives, negatives, shift):
    """Hanley and McNeil's closed form against the spread of the AUC over 2,000 eval sets of these counts."""
    generator = np.random.default_rng(7)
    aucs = [
        _auc(generator.normal(shift, 1, positives), generator.normal(0, 1, negatives)) for _ in range(2000)
    ]  # fmt: skip
    measured = float(np.std(aucs))
    expected = intervals.auc_standard_error(float(np.mean(aucs)), positives, negatives)
    assert expected == pytest.approx(measured, rel=0.12)


def test_intervals_are_wide_on_few_examples_and_narrow_on_many():
    few, many = intervals.auc_interval(0.56, 56, 207), intervals.auc_interval(0.61, 202, 709)
    assert few[0] < 0.5 < few[1]  # The notebook's old 9:1 split: 263 examples, its AUC could be chance.
    assert 0.5 < many[0] < 0.61 < many[1]  # The 2:1 split: some 900 examples clear it.
    assert intervals.auc_interval(0.7, 0, 10) == (0.0, 1.0)  # No positive at all: no evidence.
    low, high = intervals.proportion_interval(78, 100)  # Wilson's score interval.
    assert (round(low, 3), round(high, 3)) == (0.689, 0.850)
    assert all(math.isnan(bound) for bound in intervals.proportion_interval(0, 0))
    down, up = intervals.change_interval(0.62, 0.61, 220, 790)
    assert (
        down < 0 < up
        and up - down > intervals.auc_interval(0.62, 220, 790)[1] - intervals.auc_interval(0.62, 220, 790)[0]
    )


def test_a_model_is_blessed_only_when_its_interval_clears_chance_on_enough_examples():
    blessed, reasons = decide(_evidence(0.61), RULES, CANDIDATE, None)
    assert blessed and reasons == ["the AUC's 95% interval lies above 0.5 (chance)"]
    blessed, reasons = decide(_evidence(0.559, examples=263, positives=56), RULES, CANDIDATE, None)
    assert not blessed
    assert reasons[0].startswith("too few examples to tell this model from chance: 263 eval examples, 56 disputed")
    assert reasons[1].startswith("the AUC's 95% interval reaches down to 0.4") and reasons[1].endswith(
        "below 0.5: chance"
    )
    # Many examples, an AUC barely above chance: the interval reaches 0.5.
    blessed, reasons = decide(_evidence(0.52, examples=2000, positives=400), RULES, CANDIDATE, None)
    assert not blessed and reasons == [reasons[0]] and "below 0.5: chance" in reasons[0]
    # A floor above chance is named as such.
    blessed, reasons = decide(_evidence(0.61), Rules(0.6, 300, 50), CANDIDATE, None)
    assert not blessed and reasons[0].endswith("below min_eval_auc 0.600")
    # An eval split without a dispute: no AUC (NaN), never blessed.
    assert not decide(_evidence(float("nan"), positives=0), Rules(0.0, 0, 0), CANDIDATE, None)[0]


def test_against_the_served_model_only_a_drop_beyond_the_noise_fails():
    blessed, reasons = decide(_evidence(0.60, baseline_auc=0.62), RULES, CANDIDATE, SERVED)
    assert blessed and reasons[0].endswith("against the served model, no drop beyond the noise")
    blessed, reasons = decide(
        _evidence(0.58, examples=3000, positives=700, baseline_auc=0.66), RULES, CANDIDATE, SERVED
    )
    assert not blessed and reasons == [
        "worse than the served model beyond the noise: the change's whole interval is below 0"
    ]


def test_the_served_model_itself_is_never_blessed_again():
    again = ModelRef("/models/copy-of-it", trained_model=SERVED.trained_model)  # A cached Trainer's output, copied.
    for candidate in (SERVED, again):
        blessed, reasons = decide(_evidence(0.7, baseline_auc=0.7), RULES, candidate, SERVED)
        assert not blessed and reasons[0].startswith("not pushed again: the candidate is the model being served")
    assert not ModelRef("/a").same_model_as(None) and not ModelRef("/a").same_model_as(ModelRef("/b"))


def test_the_verdict_is_written_beside_the_blessing_file_and_read_back(tmp_path):
    evidence = _evidence(0.6, examples=64, positives=20, baseline_auc=0.55)
    blessed, reasons = decide(evidence, RULES, CANDIDATE, SERVED)
    verdict = Verdict(blessed, tuple(reasons), evidence, RULES)
    verdict.write(str(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["NOT_BLESSED", "verdict.json"]
    assert Verdict.read(str(tmp_path)) == verdict
    text = str(verdict)
    assert text.startswith("NOT blessed: AUC 0.600 (95% interval ") and "on 64 eval examples, 20 disputed" in text
    assert "the served model scores AUC 0.550 on the same examples: change +0.050 (95% interval " in text
    assert "  - too few examples to tell this model from chance" in text and "What to try" in text


def test_what_the_model_lacks_names_a_missing_column_and_a_label_that_is_not_0_or_1():
    inferred = schemas.read_curated()
    assert schemas.what_the_model_lacks(inferred) == []
    lacking = schema_pb2.Schema()
    lacking.CopyFrom(inferred)
    del lacking.feature[[feature.name for feature in lacking.feature].index("company")]
    label = next(feature for feature in lacking.feature if feature.name == "consumer_disputed")
    label.ClearField("int_domain")
    label.ClearField("bool_domain")
    label.type = schema_pb2.BYTES
    problems = schemas.what_the_model_lacks(lacking)
    assert problems[0] == "column 'company' is missing: module.py reads it"
    assert problems[1].startswith("consumer_disputed is not 0 or 1 in every row (SchemaGen found BYTES values)")


def test_the_readme_picture_is_of_the_pipeline_that_runs():
    """docs/images/pipeline.png carries the fingerprint of the graph it was drawn from (pipeline_tools/diagram.py)."""
    from pipeline_tools import diagram

    found = diagram.graph(diagram.production_components())
    assert diagram.fingerprint_of() == found.fingerprint(), "stale picture: python -m pipeline_tools.diagram"
    assert ("Evaluator", "evaluation", "ModelGate") in found.artifacts
    assert ("DataValidationGate", "Transform") in found.ordering  # Transform waits for the gate, reads nothing of it.
    place = diagram.layout(found)
    assert place["CsvExampleGen"][1] > place["StatisticsGen"][1] > place["Transform"][1] > place["Pusher"][1]
    assert diagram.png(found).startswith(b"\x89PNG")


def test_an_artifact_read_under_two_keys_is_found_under_both():
    """A rerun's Evaluator reads the served model as `model` and `baseline_model`: ML Metadata records one
    event whose path holds both keys, and the lineage must find the candidate under `model` all the same."""
    from ml_metadata.proto import metadata_store_pb2

    from pipeline_tools import metadata

    event = metadata_store_pb2.Event(artifact_id=24, type=metadata_store_pb2.Event.INPUT)
    for step in ({"key": "baseline_model"}, {"index": 0}, {"key": "model"}, {"index": 0}):
        event.path.steps.add(**step)
    assert metadata.event_keys(event) == ["baseline_model", "model"]
    assert metadata.event_keys(metadata_store_pb2.Event(artifact_id=1)) == [""]

"""What a run decided, in words: was the model blessed and on what evidence, why not, what was pushed.

A model the model gate does not bless is an outcome, not a crash: the Pusher leaves the serving
folder as it was, and the reader (or an automated caller) needs the reason and what to try. The
local notebook prints an `Outcome` and writes it to `outcome.txt` in its output folder,
where `make tutorial` shows it.
"""

import dataclasses
import os

from pipeline_tools import serving
from pipeline_tools.components.model_gate import Verdict


class NotBlessedError(RuntimeError):
    """The model was not blessed and the caller asked for that to fail the run."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a run left: the verdict, what it pushed, and what the serving folder serves now."""

    verdict: Verdict
    pushed_version: str | None
    serving_model_dir: str

    @property
    def serving_version(self) -> str | None:
        versions = serving.pushed_versions(self.serving_model_dir)
        return versions[-1] if versions else None

    def __str__(self) -> str:
        """The verdict in words, then what the Pusher did."""
        if self.pushed_version:
            pushed = f"pushed: version {self.pushed_version} in {self.serving_model_dir}"
        elif self.serving_version:
            pushed = f"not pushed: {self.serving_model_dir} keeps serving version {self.serving_version}"
        else:
            pushed = f"not pushed: {self.serving_model_dir} holds no model yet"
        return f"{self.verdict}\n{pushed}"

    @classmethod
    def of_run(cls, run, serving_model_dir: str) -> "Outcome":
        """From an ML Metadata run (pipeline_tools.metadata.Run): its model gate's verdict, its Pusher's output."""
        from pipeline_tools.metadata import property_value

        blessing = run.output("ModelGate", "blessing")
        if blessing is None:
            raise ValueError(f"run {run.name} has no blessing: it stopped before the model gate")
        pushed = run.output("Pusher", "pushed_model")
        version = property_value(pushed, "pushed_version") if pushed and property_value(pushed, "pushed") else None
        return cls(Verdict.read(blessing.uri), str(version) if version else None, serving_model_dir)

    def write(self, path: str) -> None:
        """Saves the outcome in words as a text file (make tutorial prints it)."""
        write_report(path, [("", self)])


def write_report(path: str, runs: list[tuple[str, "Outcome"]]) -> str:
    """Saves each run's outcome under its title ('first run, spans ...') as one text file; returns the text."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    parts = [f"{title}:\n{result}" if title else str(result) for title, result in runs]
    text = "\n\n".join(parts) + "\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return text

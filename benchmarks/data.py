"""Data made at benchmark time: data_local's rows, resamples of them (more rows, each copy perturbed),
and seeded random splits."""

import csv
import os
import random
from collections.abc import Sequence

from pipeline_tools import columns
from pipeline_tools.settings import DATA_ROOT


def read_rows(data_root: str = DATA_ROOT) -> tuple[list[str], list[dict[str, str]]]:
    """The header and every row of data_local's monthly spans, oldest first."""
    from pipeline_tools import serving

    rows = serving.read_rows(data_root)
    return list(rows[0]), rows


def write_rows(path: str, header: Sequence[str], rows: Sequence[dict[str, str]]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def perturb(row: dict[str, str], rng: random.Random) -> dict[str, str]:
    """A light change of a resampled row: one narrative word dropped and two neighbours swapped.

    Copies must differ, or the hash split would send every copy of a row to the same split.
    """
    words = row[columns.NARRATIVE].split(" ")
    if len(words) > 3:
        del words[rng.randrange(len(words))]
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return dict(row, **{columns.NARRATIVE: " ".join(words)})


def resample(rows: Sequence[dict[str, str]], factor: int, seed: int = 0) -> list[dict[str, str]]:
    """factor x the rows: the originals once, the rest drawn with replacement and perturbed."""
    rng = random.Random(seed)
    extra = [perturb(rng.choice(rows), rng) for _ in range(len(rows) * (factor - 1))]
    return list(rows) + extra


def random_split(rows: Sequence[dict[str, str]], seed: int, eval_fraction: float = 0.1):
    """A seeded train/eval split of the rows (the same one for the pipeline and the baseline)."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_eval = int(len(rows) * eval_fraction)
    return [rows[i] for i in order[n_eval:]], [rows[i] for i in order[:n_eval]]

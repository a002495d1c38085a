"""pipeline_tools/prepare_data.py on small CFPB-style exports, the quirks of real ones included."""

import csv
import io

import pytest

from conftest import REPO_ROOT
from pipeline_tools import columns, prepare_data

CFPB_HEADER = [
    "Date received",
    "Product",
    "Sub-product",
    "Issue",
    "Sub-issue",
    "Consumer complaint narrative",
    "Company public response",
    "Company",
    "State",
    "ZIP code",
    "Tags",
    "Consumer consent provided?",
    "Submitted via",
    "Date sent to company",
    "Company response to consumer",
    "Timely response?",
    "Consumer disputed?",
    "Complaint ID",
]


def cfpb_row(narrative="My bank charged me twice.", disputed="No", zip_code="124XX", sub_product=""):
    """Returns one record with the 18 CFPB fields."""
    return [
        "2015-09-23",
        "Bank account or service",
        sub_product,
        "Deposits and withdrawals",
        "",
        narrative,
        "",
        "BANK OF AMERICA, NATIONAL ASSOCIATION",
        "NY",
        zip_code,
        "",
        "Consent provided",
        "Web",
        "09/23/15",
        "Closed with explanation",
        "Yes",
        disputed,
        "1576661",
    ]


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def read_output(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_converts_columns_label_and_keeps_quirky_values(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(source, CFPB_HEADER, [cfpb_row(disputed="Yes"), cfpb_row(zip_code="")])
    summary = prepare_data.prepare(str(source), str(target))
    rows = read_output(target)
    assert list(rows[0]) == list(columns.ALL)
    assert [row["consumer_disputed"] for row in rows] == ["1", "0"]
    assert rows[0]["zip_code"] == "124XX" and rows[1]["zip_code"] == ""
    assert rows[0]["sub_product"] == "" and rows[0]["product"] == "Bank account or service"
    assert (summary.written, summary.disputed, summary.records) == (2, 1, 2)


def test_leading_unnamed_index_column_is_dropped(tmp_path):
    """The shared sample's quirk: 18 names in the header, 19 fields in every row."""
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(source, CFPB_HEADER, [["8"] + cfpb_row(), ["248"] + cfpb_row(disputed="Yes")])
    prepare_data.prepare(str(source), str(target))
    rows = read_output(target)
    assert [row["product"] for row in rows] == ["Bank account or service"] * 2
    assert [row["consumer_disputed"] for row in rows] == ["0", "1"]


def test_named_index_column_is_ignored(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(source, [""] + CFPB_HEADER, [["819778"] + cfpb_row()])
    prepare_data.prepare(str(source), str(target))
    assert read_output(target)[0]["state"] == "NY"


def test_quoted_newlines_become_spaces_so_each_record_is_one_line(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(source, CFPB_HEADER, [cfpb_row(narrative="First line.\nSecond line,\r\n  third.")])
    prepare_data.prepare(str(source), str(target))
    assert read_output(target)[0]["consumer_complaint_narrative"] == "First line. Second line, third."
    assert len(target.read_text().splitlines()) == 2


def test_rows_without_narrative_or_yes_no_label_are_skipped_and_counted(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [cfpb_row(), cfpb_row(narrative="   "), cfpb_row(disputed=""), cfpb_row(disputed="N/A")]
    write_csv(source, CFPB_HEADER, rows)
    summary = prepare_data.prepare(str(source), str(target))
    assert (summary.written, summary.without_narrative, summary.without_label) == (1, 1, 2)


def test_malformed_records_are_reported_with_line_numbers_and_can_be_kept(tmp_path):
    source, target, rejects = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "rejects.csv"
    good = ",".join(f'"{value}"' for value in cfpb_row())
    text = (
        "\n".join(
            [
                ",".join(CFPB_HEADER),
                good,
                "2015-09-23,Mortgage,too,few,fields",
                good.replace('"My bank', 'My "bank', 1),  # Stray quote inside an unquoted field.
                good,
            ]
        )
        + "\n"
    )
    source.write_text(text, encoding="utf-8")
    summary = prepare_data.prepare(str(source), str(target), rejects_path=str(rejects))
    assert summary.written == 3  # A quote inside an unquoted field is kept as a character.
    assert [rejected.line for rejected in summary.rejected] == [3]
    assert "expected 18 fields, got 5" in summary.rejected[0].reason
    kept = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8"))))
    assert kept[0] == ["line", "reason", "fields"] and kept[1][0] == "3"


def test_unbalanced_quote_is_rejected_not_merged_into_a_narrative(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    good = ",".join(f'"{value}"' for value in cfpb_row())
    broken = good.replace('"My bank charged me twice."', '"My bank charged me twice.', 1)
    source.write_text("\n".join([",".join(CFPB_HEADER), good, broken, good, good]) + "\n", encoding="utf-8")
    summary = prepare_data.prepare(str(source), str(target))
    assert summary.rejected and summary.rejected[0].line == 3
    assert "unbalanced quote" in summary.rejected[0].reason
    assert all(len(row["consumer_complaint_narrative"]) < 100 for row in read_output(target))


def test_strict_mode_fails_and_leaves_existing_output_untouched(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    target.write_text("previous good file\n")
    source.write_text(",".join(CFPB_HEADER) + "\nonly,three,fields\n", encoding="utf-8")
    with pytest.raises(prepare_data.DataPreparationError, match="line 2"):
        prepare_data.prepare(str(source), str(target), strict=True)
    assert target.read_text() == "previous good file\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_non_utf8_bytes_reject_the_record(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    good = ",".join(f'"{value}"' for value in cfpb_row()).encode("utf-8")
    bad = good.replace(b"charged", b"charg\xe9d")
    source.write_bytes(b"\n".join([",".join(CFPB_HEADER).encode(), good, bad]) + b"\n")
    summary = prepare_data.prepare(str(source), str(target))
    assert summary.written == 1 and summary.rejected[0].line == 3
    assert "UTF-8" in summary.rejected[0].reason


def test_missing_column_is_named(tmp_path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    header = [name for name in CFPB_HEADER if name != "Consumer disputed?"]
    write_csv(source, header, [cfpb_row()[:16] + ["1"]])
    with pytest.raises(prepare_data.DataPreparationError, match=r"Consumer disputed\?"):
        prepare_data.prepare(str(source), str(target))
    assert not target.exists()


@pytest.mark.parametrize("content", ["", ",".join(CFPB_HEADER) + "\n"])
def test_empty_input_is_an_error(tmp_path, content):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(prepare_data.DataPreparationError):
        prepare_data.prepare(str(source), str(target))
    assert not target.exists()


def test_command_line_reports_errors_without_a_traceback(tmp_path, capsys):
    assert prepare_data.main([str(tmp_path / "missing.csv"), str(tmp_path / "out.csv")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_committed_data_is_the_converted_shared_sample(tmp_path):
    """data_local/ must be exactly what the script makes from the shared CFPB sample."""
    source = REPO_ROOT.parent / "shared" / "data" / "cfpb" / "complaints_2015.csv"
    if not source.exists():
        pytest.skip("the shared CFPB sample is not beside this checkout")
    target = tmp_path / "data_local"
    summary = prepare_data.prepare(str(source), str(target), spans="month")
    assert summary.written == 3101 and summary.disputed == 688
    committed = REPO_ROOT / "data_local"
    made = sorted(path.relative_to(target) for path in target.rglob("*") if path.is_file())
    assert made == sorted(path.relative_to(committed) for path in committed.rglob("*") if path.is_file())
    assert [str(path) for path in made][:2] == ["span-201503/complaints.csv", "span-201504/complaints.csv"]
    for path in made:
        assert (target / path).read_bytes() == (committed / path).read_bytes(), path


def test_an_extra_column_a_huge_narrative_and_new_categories_pass_through(tmp_path):
    """Case 11's remaining faults on a raw export: a column CFPB added, 100,000 characters of
    narrative, and a product the tutorial's data never had."""
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    huge = ("word " * 20000)[:100000]
    new_product = cfpb_row(narrative=huge)
    new_product[1] = "Cryptocurrency"
    write_csv(source, CFPB_HEADER + ["Added later"], [cfpb_row() + ["x"], new_product + ["y"]])
    summary = prepare_data.prepare(str(source), str(target))
    rows = read_output(target)
    assert summary.written == 2 and not summary.rejected
    assert list(rows[0]) == list(columns.ALL)  # The extra column is not carried over.
    assert rows[1]["consumer_complaint_narrative"] == huge.strip()
    assert rows[1]["product"] == "Cryptocurrency"


def _dated(date, narrative):
    row = cfpb_row(narrative=narrative)
    row[0] = date
    return row


def test_spans_by_month_and_quarter_follow_the_date_received(tmp_path):
    """`Date received` places each complaint in its span (ISO or US dates) and is not a column of the output."""
    rows = [
        _dated("2015-03-19", "March one"),
        _dated("03/31/2015", "March two"),
        _dated("2015-04-01", "April"),
        _dated("2015-12-30", "December"),
    ]
    write_csv(tmp_path / "export.csv", CFPB_HEADER, rows)
    summary = prepare_data.prepare(str(tmp_path / "export.csv"), str(tmp_path / "months"), spans="month")
    assert summary.spans == {201503: 2, 201504: 1, 201512: 1}
    assert sorted(path.name for path in (tmp_path / "months").iterdir()) == [
        "span-201503",
        "span-201504",
        "span-201512",
    ]
    march = read_output(tmp_path / "months" / "span-201503" / "complaints.csv")
    assert [row["consumer_complaint_narrative"] for row in march] == ["March one", "March two"]
    assert list(march[0]) == list(columns.ALL)  # The date chose the folder; it is not a feature.
    prepare_data.prepare(str(tmp_path / "export.csv"), str(tmp_path / "quarters"), spans="quarter")
    assert sorted(path.name for path in (tmp_path / "quarters").iterdir()) == ["span-20151", "span-20152", "span-20154"]


def test_a_record_without_a_date_is_rejected_and_a_failed_conversion_keeps_the_old_spans(tmp_path):
    write_csv(tmp_path / "export.csv", CFPB_HEADER, [_dated("2015-05-02", "fine"), _dated("soon", "no date")])
    summary = prepare_data.prepare(str(tmp_path / "export.csv"), str(tmp_path / "spans"), spans="month")
    assert summary.written == 1
    assert [r.reason for r in summary.rejected] == ["Date received 'soon' is not a date such as 2015-03-19"]
    before = (tmp_path / "spans" / "span-201505" / "complaints.csv").read_bytes()
    write_csv(tmp_path / "bad.csv", CFPB_HEADER, [_dated("2015-06-02", "x"), _dated("later", "y")])
    with pytest.raises(prepare_data.DataPreparationError, match="malformed record"):
        prepare_data.prepare(str(tmp_path / "bad.csv"), str(tmp_path / "spans"), spans="month", strict=True)
    assert sorted(path.name for path in (tmp_path / "spans").iterdir()) == ["span-201505"]
    assert (tmp_path / "spans" / "span-201505" / "complaints.csv").read_bytes() == before
    without_dates = [name for name in CFPB_HEADER if name != "Date received"]
    write_csv(tmp_path / "nodate.csv", without_dates, [cfpb_row()[1:]])
    with pytest.raises(prepare_data.DataPreparationError, match=r"missing CFPB column\(s\) \['Date received'\]"):
        prepare_data.prepare(str(tmp_path / "nodate.csv"), str(tmp_path / "other"), spans="month")
    with pytest.raises(prepare_data.DataPreparationError, match="spans must be one of"):
        prepare_data.prepare(str(tmp_path / "export.csv"), str(tmp_path / "other"), spans="week")

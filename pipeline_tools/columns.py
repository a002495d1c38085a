"""The data's columns, named once: the tutorial's CSV schema and the CFPB export columns it comes from.

Standard library only: the data converter runs before anything is installed. `module.py` names
the columns it reads itself, because on Vertex AI it is loaded alone inside TFX's image; a test
keeps the two in step, and another keeps `schema/schema.pbtxt` in step with `ALL`.
"""

LABEL = "consumer_disputed"
NARRATIVE = "consumer_complaint_narrative"
ZIP_CODE = "zip_code"
CATEGORICAL: tuple[str, ...] = (
    "product",
    "sub_product",
    "issue",
    "sub_issue",
    "company",
    "state",
    "company_response",
    "timely_response",
)

# Tutorial column -> the CFPB export's column, in the order of the tutorial's CSV files.
CFPB_NAMES: dict[str, str] = {
    "product": "Product",
    "sub_product": "Sub-product",
    "issue": "Issue",
    "sub_issue": "Sub-issue",
    NARRATIVE: "Consumer complaint narrative",
    "company": "Company",
    "state": "State",
    ZIP_CODE: "ZIP code",
    "company_response": "Company response to consumer",
    "timely_response": "Timely response?",
    LABEL: "Consumer disputed?",
}
ALL: tuple[str, ...] = tuple(CFPB_NAMES)
# The export's receipt date: it places a complaint in its span (pipeline_tools/spans.py) and is
# not a feature.
CFPB_DATE_RECEIVED = "Date received"

# Every row has a value in these; the others are columns a CFPB export leaves blank at times.
COMPLETE: tuple[str, ...] = (
    "product",
    "issue",
    NARRATIVE,
    "company",
    "company_response",
    "timely_response",
    LABEL,
)
# Closed sets of values: CFPB's eight answers (all eight occur in the 2020 sample), Yes/No.
CLOSED_VALUES: dict[str, tuple[str, ...]] = {
    "company_response": (
        "Closed",
        "Closed with explanation",
        "Closed with monetary relief",
        "Closed with non-monetary relief",
        "Closed with relief",
        "Closed without relief",
        "In progress",
        "Untimely response",
    ),
    "timely_response": ("No", "Yes"),
}

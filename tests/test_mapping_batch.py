"""CSV and NDJSON batches: grouping, located errors, line numbers, streaming (nothing held or dropped)."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from datetime import date

import pytest

from fhir_family.mapping.csv_batch import ALL_COLUMNS, CsvParser
from fhir_family.mapping.ndjson import NdjsonParser
from fhir_family.mapping.pipeline import LINE_EXTENSION, MappingPipeline

PARENT = {
    "submissionId": "S-1",
    "reportingPeriodStart": "2026-10-01",
    "reportingPeriodEnd": "2026-10-31",
    "legalBasis": "national-direction",
    "providerOdsCode": "RX4",
    "patientLocalId": "P-1",
    "patientNhsNumber": "9990000026",
    "patientBirthDate": "1988-04-12",
    "patientGender": "female",
    "episodeServiceRequestId": "SR-1",
    "episodeTeamType": "A03",
    "episodeStart": "2026-03-02",
    "episodeStatus": "active",
    "parentalStatus": "all-children-live-with-patient",
    "dateAsked": "2026-10-01",
}
CHILD = {
    "childLocalId": "C-1",
    "childRelationship": "CHILD",
    "childBirthDate": "2015-06-01",
    "childPrHeld": "Y",
    "childPrBasis": "birth-mother;registered-father",
    "childResidence": "full-time",
    "childYoungCarer": "N",
    "childHelp": "early-help; child-in-need",
}
PAYLOAD = {
    "payloadVersion": "2",
    "submissionId": "N-1",
    "reportingPeriod": {"start": "2026-10-01", "end": "2026-10-31"},
    "legalBasis": "national-direction",
    "provider": {"odsCode": "RX4"},
    "patient": {"localId": "P-1", "nhsNumber": "9990000026", "birthDate": "1988-04-12", "gender": "female"},
    "episode": {"serviceRequestId": "SR-1", "teamType": "A03", "start": "2026-03-02", "status": "active"},
    "parentalStatus": {"status": "declined", "dateAsked": "2026-10-01"},
    "children": [],
}


def csv_lines(rows: list[dict[str, str]], header: tuple[str, ...] = ALL_COLUMNS) -> list[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().splitlines(keepends=True)


def test_rows_of_a_submission_become_one_return_with_lists_and_types() -> None:
    rows = [
        {**PARENT, "childrenInHousehold": "2", "expectingChild": "N", **CHILD},
        {
            **PARENT,
            "childrenInHousehold": "2",
            "expectingChild": "N",
            **CHILD,
            "childLocalId": "C-2",
            "childBirthDate": "2017-01-01",
        },
    ]
    (item,) = list(CsvParser().iter_parse(csv_lines(rows)))
    assert item.line == 2 and item.error is None
    record = item.record
    assert (record.children_in_household, record.expecting_child) == (2, False)
    assert [c.birth_date for c in record.children] == [date(2015, 6, 1), date(2017, 1, 1)]
    assert record.children[0].pr_basis == ("birth-mother", "registered-father")
    assert record.children[0].help == ("early-help", "child-in-need")
    assert [c.local_id for c in record.children] == ["C-1", "C-2"]
    assert (record.local_patient_id, record.service_request_id, record.team_type) == ("P-1", "SR-1", "A03")
    assert (record.legal_basis, record.date_asked) == ("national-direction", date(2026, 10, 1))


def test_every_new_column_reaches_the_record() -> None:
    parent = {**PARENT, "patientNhsNumberVerification": "01", "patientLocalAuthority": "E08000035",
              "askedBy": "nurse", "statusSource": "records",
              "supportOffered": "parenting-support; carers-assessment"}
    child = {**CHILD, "childNhsNumber": "9990000042", "childNhsNumberVerification": "02",
             "childLocalAuthority": "E09000033", "childPrRestriction": "care-order",
             "childThinkFamilyAction": "referred", "childThinkFamilyOutcome": "awaited",
             "childEnded": "2026-10-20"}
    (item,) = CsvParser().iter_parse(csv_lines([{**parent, **child}]))
    record, (kid,) = item.record, item.record.children
    assert (record.nhs_number_verification, record.local_authority) == ("01", "E08000035")
    assert (record.asked_by, record.status_source) == ("nurse", "records")
    assert record.support_offered == ("parenting-support", "carers-assessment")
    assert (kid.nhs_number_verification, kid.local_authority, kid.pr_restriction) == ("02", "E09000033",
                                                                                     ("care-order",))
    assert (kid.think_family_action, kid.think_family_outcome, kid.ended) == ("referred", "awaited",
                                                                             date(2026, 10, 20))


def test_a_not_asked_row_needs_no_date_asked_but_any_other_status_does() -> None:
    not_asked = {**PARENT, "parentalStatus": "not-asked", "dateAsked": ""}
    missing = {**PARENT, "submissionId": "S-2", "dateAsked": ""}
    first, second = CsvParser().iter_parse(csv_lines([not_asked, missing]))
    assert (first.record.parental_status, first.record.date_asked) == ("not-asked", None)
    column = ALL_COLUMNS.index("dateAsked") + 1
    assert [i.extra["location"][0] for i in second.error.issues] == [f"line 3, column {column} (dateAsked)"]


def test_a_rule_about_a_whole_object_points_at_its_first_column() -> None:
    rows = [{**PARENT, **CHILD, "childThinkFamilyAction": "not-needed", "childThinkFamilyOutcome": "awaited"}]
    (item,) = CsvParser().iter_parse(csv_lines(rows))
    column = ALL_COLUMNS.index("childThinkFamilyAction") + 1
    assert [i.extra["location"][0] for i in item.error.issues] == [
        f"line 2, column {column} (childThinkFamilyAction)"
    ]


def test_a_version_1_header_names_each_retired_column() -> None:
    header = (*ALL_COLUMNS, "episodeId", "dateRecorded")
    (item,) = CsvParser().iter_parse(csv_lines([], header))
    texts = [i.diagnostics for i in item.error.issues]
    assert any("'episodeId'" in text for text in texts) and any("'dateRecorded'" in text for text in texts)


def test_parent_without_children_is_one_row_with_empty_child_columns() -> None:
    rows = [PARENT, {**PARENT, "submissionId": "S-2", **CHILD}]
    first, second = CsvParser().iter_parse(csv_lines(rows))
    assert (first.line, len(first.record.children)) == (2, 0)
    assert (second.line, len(second.record.children)) == (3, 1)


def test_errors_are_located_by_line_and_column_and_do_not_stop_the_batch() -> None:
    rows = [
        {**PARENT, **CHILD},
        {**PARENT, **CHILD, "childResidence": "attic"},
        {**PARENT, "submissionId": "S-2", "patientGender": "F", **CHILD},
        {**PARENT, "submissionId": "S-3", **CHILD},
    ]
    items = list(CsvParser().iter_parse(csv_lines(rows)))
    assert [(i.line, i.record is not None) for i in items] == [(2, False), (4, False), (5, True)]
    residence_column = ALL_COLUMNS.index("childResidence") + 1
    gender_column = ALL_COLUMNS.index("patientGender") + 1
    assert items[0].error.issues[0].extra["location"] == [
        f"line 3, column {residence_column} (childResidence)"
    ]
    assert items[1].error.issues[0].extra["location"] == [f"line 4, column {gender_column} (patientGender)"]


def test_parent_fields_must_repeat_unchanged() -> None:
    rows = [{**PARENT, **CHILD}, {**PARENT, "patientBirthDate": "1988-04-13", **CHILD, "childLocalId": "C-2"}]
    (item,) = CsvParser().iter_parse(csv_lines(rows))
    column = ALL_COLUMNS.index("patientBirthDate") + 1
    assert [i.extra["location"][0] for i in item.error.issues] == [
        f"line 3, column {column} (patientBirthDate)"
    ]


def test_header_problems_are_reported_once_at_line_1() -> None:
    header = tuple(c for c in ALL_COLUMNS if c != "childHelp") + ("favouriteColour",)
    (item,) = CsvParser().iter_parse(csv_lines([], header))
    diagnostics = [i.diagnostics for i in item.error.issues]
    assert item.line == 1 and item.error.http_status == 400
    assert any("'childHelp'" in d for d in diagnostics) and any("'favouriteColour'" in d for d in diagnostics)


def test_names_in_dropped_columns_never_reach_the_record() -> None:
    header = (*ALL_COLUMNS, "patientName", "childName")
    rows = [{**PARENT, **CHILD, "patientName": "Alice Example", "childName": "Carys Example"}]
    (item,) = CsvParser().iter_parse(csv_lines(rows, header))
    assert "Example" not in repr(item.record)


def test_ragged_row_and_quoted_newline() -> None:
    lines = csv_lines([{**PARENT, **CHILD, "childHelp": "none"}])
    lines.append(lines[1].rstrip("\n") + ",extra\n")
    items = list(CsvParser().iter_parse(lines))
    assert items[0].error is not None
    assert "cells" in items[0].error.issues[0].diagnostics
    quoted = csv_lines([{**PARENT, "providerName": "Line one\nline two", **CHILD}])
    (item,) = CsvParser().iter_parse(quoted)
    assert item.record.organisation_name == "Line one\nline two"


def _endless_csv() -> Iterator[str]:
    yield csv_lines([])[0]
    for number in itertools.count():
        yield csv_lines([{**PARENT, "submissionId": f"S-{number}", **CHILD}])[1]


def test_csv_streams_without_reading_ahead() -> None:
    # An endless input: only a parser that holds one group at a time can yield from it.
    items = list(itertools.islice(CsvParser().iter_parse(_endless_csv()), 200))
    assert [i.record.submission_id for i in items[:3]] == ["S-0", "S-1", "S-2"]
    assert items[-1].line == 201


def test_ndjson_lines_numbered_blank_lines_skipped_bad_lines_reported() -> None:
    lines = [
        json.dumps(PAYLOAD) + "\n",
        "\n",
        '{"submissionId": "N-2",\n',
        json.dumps({**PAYLOAD, "submissionId": "N-3", "children": [{"relationship": "MTH"}]}) + "\n",
        json.dumps({**PAYLOAD, "submissionId": "N-4"}),
    ]
    items = list(NdjsonParser().iter_parse(lines))
    assert [(i.line, i.record is not None) for i in items] == [(1, True), (3, False), (4, False), (5, True)]
    assert items[1].error.http_status == 400
    assert items[1].error.issues[0].extra["location"] == ["line 3, column 24"]
    assert "line 4 /children/0/relationship" in [i.extra["location"][0] for i in items[2].error.issues]


def test_ndjson_streams_without_reading_ahead() -> None:
    endless = (json.dumps({**PAYLOAD, "submissionId": f"N-{n}"}) + "\n" for n in itertools.count())
    items = list(itertools.islice(NdjsonParser().iter_parse(endless), 100))
    assert items[-1].record.submission_id == "N-99"


class _NoErrors:
    def issues(self, resource: dict, profile: str | None = None) -> list:
        return []


def test_a_csv_issue_has_one_line_number_and_names_its_submission() -> None:
    rows = [{**PARENT, **CHILD}, {**PARENT, **CHILD, "childResidence": "attic"}]
    (failed,) = MappingPipeline(_NoErrors()).map_stream(CsvParser(), csv_lines(rows))
    (issue,) = failed.outcome["issue"]
    assert issue["location"][0].startswith("line 3,")  # the row with the bad cell, not the return's first
    assert issue["extension"] == [{"url": LINE_EXTENSION, "valueInteger": 3}]
    assert issue["diagnostics"].startswith(f"submission {PARENT['submissionId']}: ")


def test_pipeline_gives_every_issue_of_a_batch_item_its_line() -> None:
    lines = ["{bad\n", json.dumps(PAYLOAD) + "\n"]
    failed, ok = MappingPipeline(_NoErrors()).map_stream(NdjsonParser(), lines)
    assert (failed.status, failed.line, ok.status, ok.line) == (400, 1, 200, 2)
    (issue,) = failed.outcome["issue"]
    assert issue["extension"] == [{"url": LINE_EXTENSION, "valueInteger": 1}]
    assert ok.bundle["identifier"]["value"] == "N-1"


@pytest.mark.parametrize("parser", [CsvParser(), NdjsonParser()])
def test_empty_input_yields_nothing(parser) -> None:
    assert list(parser.iter_parse([])) == []


def test_every_csv_column_is_documented(repo_root) -> None:
    from fhir_family.mapping.csv_batch import DROPPED_COLUMNS

    layout = (repo_root / "docs" / "payload.md").read_text().split("## 3. CSV batch layout")[1]
    for column in (*ALL_COLUMNS, *DROPPED_COLUMNS):
        assert f"`{column}`" in layout, column

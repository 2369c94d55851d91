"""Contact import: counts and row-level reasons, the consent ledger, idempotence, encodings,
JSON and JSON Lines, dry runs and progress."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from activities.contacts.importing import RowProblem, import_file, read_rows
from models.db import session_scope
from models.errors import InvalidInput
from models.tables import ConsentAction, ConsentBasis, ConsentRecord, Contact
from tests.factories import make_contact, withdraw_consent

MIXED_CSV = (
    "email,first_name,last_name,company,country,time_zone,language,consent_basis,"
    "consent_source,consent_time,consent_wording,consent_evidence,industry\n"
    # row 2: good, with consent
    "Anna.Schmidt@Importer.example.de,Anna,Schmidt,Schmidt GmbH,de,Europe/Berlin,de,consent,"
    "Hannover Messe 2026 badge scan,2026-04-20T10:15:00+02:00,Yes send me news,scan-0042,"
    "machinery\n"
    # row 3: good, no consent evidence -> needs opt-in
    "juan@compras.example.es,Juan,,Compras SA,ES,,es,,,,,,\n"
    # row 4: the same contact as row 2 again (other case): nothing new
    "anna.schmidt@importer.example.de,Anna,Schmidt,Schmidt GmbH,DE,Europe/Berlin,de,consent,"
    "Hannover Messe 2026 badge scan,2026-04-20T08:15:00Z,Yes send me news,scan-0042,machinery\n"
    # row 5: bad email
    "not-an-address,Bad,,,,,,,,,,,\n"
    # row 6: disposable domain
    "someone@mailinator.com,Temp,,,,,,,,,,,\n"
    # row 7: bad country
    "li@buyer.example.com,Li,,,Germany,,,,,,,,\n"
    # row 8: bad consent time
    "kim@buyer.example.kr,Kim,,,KR,,,consent,web form,yesterday,,,\n"
    # row 9: missing email
    ",Nobody,,,,,,,,,,,\n"
    # row 10: legitimate interest, date only
    "ops@logistics.example.nl,,,Logistics BV,NL,Europe/Amsterdam,nl,legitimate_interest,"
    "existing customer since 2019,2024-01-15,,order 4711,\n"
)


def _ledger(engine: sa.Engine, email: str) -> list[ConsentRecord]:
    with session_scope(engine) as s:
        contact = s.exec(select(Contact).where(Contact.email == email)).one()
        return list(
            s.exec(select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)).all()
        )


def _contacts(engine: sa.Engine) -> list[Contact]:
    with session_scope(engine) as s:
        return list(s.exec(select(Contact)).all())


def test_mixed_file_counts_every_row_and_names_each_refusal(engine: sa.Engine) -> None:
    report = import_file(engine, MIXED_CSV.encode(), filename="leads.csv")

    assert (report.created, report.updated, report.unchanged) == (3, 0, 1)
    assert report.needs_opt_in == 1
    assert [(p.row_number, p.field) for p in report.rejected] == [
        (5, "email"),
        (6, "email"),
        (7, "country"),
        (8, "consent_time"),
        (9, "email"),
    ]
    reasons = {p.row_number: p.reason for p in report.rejected}
    assert "disposable" in reasons[6]
    assert "Germany" in reasons[7]
    assert report.created + report.unchanged + len(report.rejected) == 9  # every data row

    emails = sorted(c.email for c in _contacts(engine))
    assert emails == [
        "anna.schmidt@importer.example.de",
        "juan@compras.example.es",
        "ops@logistics.example.nl",
    ]
    anna = next(c for c in _contacts(engine) if c.email.startswith("anna"))
    assert (anna.country, anna.time_zone, anna.custom) == (
        "DE",
        "Europe/Berlin",
        {"industry": "machinery"},
    )
    [granted] = _ledger(engine, "anna.schmidt@importer.example.de")
    assert granted.action == ConsentAction.GRANTED
    assert granted.basis == ConsentBasis.CONSENT
    assert granted.source == "Hannover Messe 2026 badge scan"
    assert (granted.wording, granted.evidence) == ("Yes send me news", "scan-0042")
    assert granted.recorded_at == datetime(2026, 4, 20, 8, 15, tzinfo=UTC)
    [interest] = _ledger(engine, "ops@logistics.example.nl")
    assert interest.basis == ConsentBasis.LEGITIMATE_INTEREST
    assert interest.recorded_at == datetime(2024, 1, 15, tzinfo=UTC)
    assert _ledger(engine, "juan@compras.example.es") == []


def test_importing_the_same_file_twice_creates_nothing_new(engine: sa.Engine) -> None:
    import_file(engine, MIXED_CSV.encode(), filename="leads.csv")
    again = import_file(engine, MIXED_CSV.encode(), filename="leads.csv")

    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert len(again.rejected) == 5
    assert len(_contacts(engine)) == 3
    assert len(_ledger(engine, "anna.schmidt@importer.example.de")) == 1
    assert len(_ledger(engine, "ops@logistics.example.nl")) == 1


def test_changed_row_updates_and_keeps_what_the_file_leaves_blank(engine: sa.Engine) -> None:
    import_file(engine, MIXED_CSV.encode(), filename="leads.csv")
    csv = "email,company,region\njuan@compras.example.es,Compras Iberia SA,south\n"

    report = import_file(engine, csv.encode(), filename="update.csv")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    juan = next(c for c in _contacts(engine) if c.email.startswith("juan"))
    assert (juan.first_name, juan.company, juan.custom) == (
        "Juan",
        "Compras Iberia SA",
        {"region": "south"},
    )


def test_gbk_csv_from_chinese_excel_keeps_the_names(engine: sa.Engine) -> None:
    csv = "email,first_name,last_name,company,country\r\nwang@maoyi.example.cn,伟,王,宁波贸易有限公司,CN\r\n"

    report = import_file(engine, csv.encode("gbk"), filename="客户.csv")

    assert report.created == 1
    assert report.rejected == []
    [wang] = _contacts(engine)
    assert (wang.first_name, wang.last_name, wang.company) == ("伟", "王", "宁波贸易有限公司")


def test_utf8_bom_and_semicolons_as_excel_writes_them(engine: sa.Engine) -> None:
    csv = "Email;First Name;Country\r\nmüller@firma.example.de;Jörg;AT\r\n"

    report = import_file(engine, b"\xef\xbb\xbf" + csv.encode(), filename="export.csv")

    assert report.created == 1, report.rejected
    [jorg] = _contacts(engine)
    assert (jorg.first_name, jorg.country) == ("Jörg", "AT")


def test_json_array_and_json_lines_import_alike(engine: sa.Engine) -> None:
    rows = [
        {
            "email": "a@buyer.example.com",
            "country": "US",
            "consent_source": "web form",
            "custom": {"tier": 1},
            "segment": "oem",
        },
        {"email": "b@buyer.example.com", "country": "XX"},
        "not an object",
    ]
    report = import_file(engine, json.dumps(rows).encode())

    assert report.created == 1
    assert report.rejected == [
        RowProblem(row_number=2, field="country", reason=report.rejected[0].reason),
        RowProblem(row_number=3, field="row", reason="not an object"),
    ]
    [a] = _contacts(engine)
    assert a.custom == {"tier": 1, "segment": "oem"}

    lines = '{"email": "c@buyer.example.com"}\n\n{broken\n{"email": "a@buyer.example.com"}\n'
    report = import_file(engine, lines.encode(), filename="more.jsonl")

    assert (report.created, report.unchanged, report.needs_opt_in) == (1, 1, 1)
    assert [(p.row_number, p.field) for p in report.rejected] == [(3, "row")]


def test_consent_columns_without_a_source_are_refused_not_dropped(engine: sa.Engine) -> None:
    csv = "email,consent_time,consent_wording\nx@buyer.example.com,2025-01-01,yes\n"

    report = import_file(engine, csv.encode(), filename="x.csv")

    assert report.rejected == [
        RowProblem(
            row_number=2,
            field="consent_source",
            reason="consent_source is required when consent_time, consent_wording is given",
        )
    ]
    assert _contacts(engine) == []


def test_undated_consent_never_overrides_a_withdrawal(engine: sa.Engine) -> None:
    contact = make_contact(engine, email="gone@buyer.example.com")
    withdraw_consent(engine, contact.id)
    csv = "email,consent_source\ngone@buyer.example.com,old trade fair list\n"

    report = import_file(engine, csv.encode(), filename="old.csv")

    assert [(p.row_number, p.field) for p in report.rejected] == [(2, "consent_time")]
    assert _ledger(engine, "gone@buyer.example.com")[-1].action == ConsentAction.WITHDRAWN


def test_consent_dated_before_a_withdrawal_is_refused_after_it_re_grants(
    engine: sa.Engine,
) -> None:
    contact = make_contact(engine, email="back@buyer.example.com", consent=None)
    withdrawn_at = datetime.now(UTC) - timedelta(days=2)
    withdraw_consent(engine, contact.id, at=withdrawn_at)
    header = "email,consent_source,consent_time\n"
    before = f"back@buyer.example.com,old list,{(withdrawn_at - timedelta(days=1)).isoformat()}\n"
    after = f"back@buyer.example.com,new form,{(withdrawn_at + timedelta(minutes=1)).isoformat()}\n"

    refused = import_file(engine, (header + before).encode(), filename="old.csv")
    regranted = import_file(engine, (header + after).encode(), filename="new.csv")

    assert [(p.row_number, p.field) for p in refused.rejected] == [(2, "consent_time")]
    assert "withdrew consent" in refused.rejected[0].reason
    assert (regranted.rejected, regranted.updated) == ([], 1)
    ledger = _ledger(engine, "back@buyer.example.com")
    assert [(r.action, r.source) for r in ledger] == [
        (ConsentAction.WITHDRAWN, "test"),
        (ConsentAction.GRANTED, "new form"),
    ]


def test_dry_run_reports_the_same_and_writes_nothing(engine: sa.Engine) -> None:
    seen: list[tuple[int, int]] = []

    report = import_file(
        engine,
        MIXED_CSV.encode(),
        filename="leads.csv",
        dry_run=True,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert (report.created, report.unchanged, len(report.rejected)) == (3, 1, 5)
    assert _contacts(engine) == []
    assert seen[0] == (1, 9)
    assert seen[-1] == (9, 9)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"name,company\nAnna,X\n", "email"),
        (b"", "file"),
        (b"[not json", "file"),
        (b'{"rows": []}', "file"),
        (b"\xff\x00\xfe", "file"),
    ],
)
def test_unreadable_file_is_refused_whole(engine: sa.Engine, data: bytes, field: str) -> None:
    name = "x.json" if data.startswith((b"[", b"{")) else "x.csv"
    with pytest.raises(InvalidInput) as info:
        import_file(engine, data, filename=name)
    assert info.value.field == field
    assert _contacts(engine) == []


def test_single_json_object_reads_as_one_json_lines_row() -> None:
    assert read_rows(b'{"email": "a@b.example.com"}')[0].values == {"email": "a@b.example.com"}


# --- external_id ---------------------------------------------------------------------------------


def _external_ids(engine: sa.Engine) -> dict[str, str | None]:
    with session_scope(engine) as s:
        return {c.email: c.external_id for c in s.exec(select(Contact)).all()}


def _import_json(engine: sa.Engine, rows: list[dict[str, object]]):
    return import_file(engine, json.dumps(rows).encode(), filename="crm.json")


def test_external_id_column_sets_the_crms_id(engine: sa.Engine) -> None:
    csv_text = "email,external_id\na@buyer.example.com,crm-001\nb@buyer.example.com,\n"
    report = import_file(engine, csv_text.encode(), filename="crm.csv")

    assert (report.created, report.rejected) == (2, [])
    assert _external_ids(engine) == {"a@buyer.example.com": "crm-001", "b@buyer.example.com": None}
    # A CRM's numeric id, as JSON sends it, is the same id as its text.
    assert _import_json(engine, [{"email": "c@buyer.example.com", "external_id": 4711}]).created
    assert _external_ids(engine)["c@buyer.example.com"] == "4711"


def test_external_id_held_by_another_contact_refuses_the_row_whole(engine: sa.Engine) -> None:
    holder = make_contact(engine, external_id="crm-001")
    rows = [
        {"email": "new@buyer.example.com", "external_id": "crm-001", "company": "New GmbH"},
        {"email": "ok@buyer.example.com", "external_id": "crm-002"},
    ]

    report = _import_json(engine, rows)

    assert report.created == 1
    [problem] = report.rejected
    assert (problem.row_number, problem.field) == (1, "external_id")
    assert "crm-001" in problem.reason
    assert str(holder.id) in problem.reason
    assert "new@buyer" not in problem.reason
    # Nothing of the refused row was written; the holder keeps its id.
    assert _external_ids(engine) == {holder.email: "crm-001", "ok@buyer.example.com": "crm-002"}


def test_external_id_of_another_contact_is_refused_for_an_existing_contact_too(
    engine: sa.Engine,
) -> None:
    holder = make_contact(engine, external_id="crm-001")
    other = make_contact(engine, external_id="crm-002", company="Before GmbH")

    report = _import_json(
        engine, [{"email": other.email, "external_id": "crm-001", "company": "After GmbH"}]
    )

    assert [p.field for p in report.rejected] == ["external_id"]
    with session_scope(engine) as s:
        unchanged = s.get(Contact, other.id)
        assert unchanged is not None
        assert (unchanged.external_id, unchanged.company) == ("crm-002", "Before GmbH")
        still = s.get(Contact, holder.id)
        assert still is not None
        assert still.external_id == "crm-001"


def test_same_external_id_again_is_unchanged_and_blank_keeps_it(engine: sa.Engine) -> None:
    row = {"email": "a@buyer.example.com", "external_id": "crm-001"}
    _import_json(engine, [row])

    again = _import_json(engine, [row, {"email": "a@buyer.example.com", "external_id": "  "}])

    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, [])
    assert _external_ids(engine) == {"a@buyer.example.com": "crm-001"}


def test_a_new_external_id_for_the_same_contact_rekeys_it(engine: sa.Engine) -> None:
    _import_json(engine, [{"email": "a@buyer.example.com", "external_id": "crm-001"}])

    report = _import_json(engine, [{"email": "a@buyer.example.com", "external_id": "crm-9001"}])

    assert (report.updated, report.rejected) == (1, [])
    assert _external_ids(engine) == {"a@buyer.example.com": "crm-9001"}
    # The old id is free again.
    assert _import_json(
        engine, [{"email": "b@buyer.example.com", "external_id": "crm-001"}]
    ).created


def test_two_rows_of_one_file_cannot_share_an_external_id(engine: sa.Engine) -> None:
    rows = [
        {"email": "a@buyer.example.com", "external_id": "crm-001"},
        {"email": "b@buyer.example.com", "external_id": "crm-001"},
    ]

    report = _import_json(engine, rows)

    assert report.created == 1
    assert [(p.row_number, p.field) for p in report.rejected] == [(2, "external_id")]
    assert _external_ids(engine) == {"a@buyer.example.com": "crm-001"}


def test_external_id_longer_than_200_characters_is_refused(engine: sa.Engine) -> None:
    report = _import_json(engine, [{"email": "a@buyer.example.com", "external_id": "x" * 201}])

    assert [p.field for p in report.rejected] == ["external_id"]
    assert _contacts(engine) == []


def test_external_id_taken_concurrently_refuses_that_row_and_goes_on(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from activities.contacts import store

    holder = make_contact(engine, external_id="crm-001")
    # Another writer commits the id between this row's check and its flush: the check sees nobody.
    monkeypatch.setattr(store, "external_id_holder", lambda session, external_id: None)
    rows = [
        {"email": "late@buyer.example.com", "external_id": "crm-001"},
        {"email": "next@buyer.example.com", "external_id": "crm-002"},
    ]

    report = _import_json(engine, rows)

    assert report.created == 1
    assert [(p.row_number, p.field) for p in report.rejected] == [(1, "row")]
    assert "import the row again" in report.rejected[0].reason
    assert _external_ids(engine) == {holder.email: "crm-001", "next@buyer.example.com": "crm-002"}


def test_quotes_inside_a_quoted_cell_are_read_as_excel_writes_them(engine: sa.Engine) -> None:
    csv = 'email,company\nanna@importer.example.de,"Schmidt ""Maschinen"" GmbH, Werk 2"\n'

    report = import_file(engine, csv.encode(), filename="excel.csv")

    assert (report.created, report.rejected) == (1, [])
    [contact] = _contacts(engine)
    assert contact.company == 'Schmidt "Maschinen" GmbH, Werk 2'

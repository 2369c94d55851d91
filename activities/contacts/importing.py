"""Contact import: CSV (UTF-8, or GBK/GB18030 from Chinese Excel), JSON arrays and JSON Lines,
each row validated, vetted and upserted on its own, with a report naming every refused row.

Re-importing a file is a no-op: contacts match on their normalised address and a consent row is
not recorded twice for the same (contact, source, basis, consent_time). Rows without a
consent_source come in without consent (`needs_opt_in`) and cannot be mailed until confirmed.
An `external_id` column sets the caller's own id of the contact (unique: a row giving one that
another contact holds is refused; a new one for the same contact replaces the old; blank keeps it).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlmodel import Session, select

from activities.contacts.consent import newest_consent
from activities.contacts.store import ConsentEvidence, UpsertOutcome, vetted_address, write_contact
from models.errors import InvalidInput
from models.tables import ConsentAction, ConsentBasis, Contact, utcnow

#: Columns with a place on the contact; every other column goes to `custom`.
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "country",
    "time_zone",
    "language",
    "external_id",
)
CONSENT_FIELDS = (
    "consent_basis",
    "consent_source",
    "consent_time",
    "consent_wording",
    "consent_evidence",
)
KNOWN_FIELDS = frozenset({"email", *CONTACT_FIELDS, *CONSENT_FIELDS})

Progress = Callable[[int, int], None]


class ImportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    JSON_LINES = "jsonl"


class RowProblem(BaseModel):
    """A row not imported: `row_number` is 1-based (CSV: the header is row 1; JSON: the
    element's position; JSON Lines: the line)."""

    model_config = ConfigDict(frozen=True)

    row_number: int
    field: str
    reason: str


@dataclass(frozen=True)
class SourceRow:
    row_number: int
    values: dict[str, Any]


class ImportReport(BaseModel):
    """Counts of imported rows (`needs_opt_in` is the part of them with no consent on record),
    and every refused row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    needs_opt_in: int = 0
    rejected: list[RowProblem] = Field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, from the tz database's `iso3166.tab` (tzdata is a dependency)."""
    text = resources.files("tzdata").joinpath("zoneinfo/iso3166.tab").read_text("utf-8")
    return frozenset(
        line.split("\t", 1)[0] for line in text.splitlines() if line and not line.startswith("#")
    )


_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class ContactRow(BaseModel):
    """One import row as validated: field names match the columns, so errors name the column."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    email: str = Field(min_length=1, max_length=320)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=300)
    country: str | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    #: The caller's own id of the contact (the CRM's); unique across contacts.
    external_id: str | None = Field(default=None, max_length=200)
    consent_basis: ConsentBasis | None = None
    consent_source: str | None = Field(default=None, max_length=300)
    consent_time: datetime | None = None
    consent_wording: str | None = None
    consent_evidence: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _blanks(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {k: _blank_to_none(v) for k, v in data.items()}
        return data

    @field_validator("external_id", mode="before")
    @classmethod
    def _external_id(cls, value: Any) -> Any:
        # A CRM's numeric id arrives as a JSON number: the same id as its text.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.upper()
        if code not in country_codes():
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE)")
        return code

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from exc
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not _LANGUAGE.match(value):
            raise ValueError(f"{value!r} is not a language tag (e.g. de, zh-CN)")
        return value

    @field_validator("consent_time", mode="before")
    @classmethod
    def _consent_time(cls, value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        return value

    @field_validator("consent_time")
    @classmethod
    def _consent_time_aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        # A time without an offset is read as UTC: the ledger stores instants.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if value > utcnow():
            raise ValueError("consent_time is in the future")
        return value

    @model_validator(mode="after")
    def _consent_needs_source(self) -> ContactRow:
        if self.consent_source is None:
            given = [
                name
                for name in ("consent_basis", "consent_time", "consent_wording", "consent_evidence")
                if getattr(self, name) is not None
            ]
            if given:
                raise ValueError(f"consent_source is required when {', '.join(given)} is given")
        return self

    def consent(self) -> ConsentEvidence | None:
        if self.consent_source is None:
            return None
        return ConsentEvidence(
            source=self.consent_source,
            basis=self.consent_basis or ConsentBasis.CONSENT,
            wording=self.consent_wording,
            evidence=self.consent_evidence,
            given_at=self.consent_time,
        )

    def custom(self) -> dict[str, Any]:
        extra = dict(self.model_extra or {})
        nested = extra.pop("custom", None)
        merged = {k: v for k, v in extra.items() if v is not None}
        if isinstance(nested, Mapping):
            merged.update({str(k): v for k, v in nested.items() if v is not None})
        elif nested is not None:
            merged["custom"] = nested
        return merged

    def contact_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTACT_FIELDS}


# --- reading -------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The text of an uploaded file: UTF-8 (BOM or not), UTF-16 with BOM, else GB18030 (⊃ GBK)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("file", "not UTF-8, UTF-16 or GBK/GB18030 text")


def detect_format(text: str, filename: str | None = None) -> ImportFormat:
    """By extension if there is one, else by the first character (`[` JSON, `{` JSON Lines)."""
    suffix = (filename or "").rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    by_suffix = {
        "csv": ImportFormat.CSV,
        "txt": ImportFormat.CSV,
        "tsv": ImportFormat.CSV,
        "json": ImportFormat.JSON,
        "jsonl": ImportFormat.JSON_LINES,
        "ndjson": ImportFormat.JSON_LINES,
    }
    if suffix in by_suffix:
        return by_suffix[suffix]
    head = text.lstrip()[:1]
    if head == "[":
        return ImportFormat.JSON
    if head == "{":
        return ImportFormat.JSON_LINES
    return ImportFormat.CSV


def _column(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def read_csv(text: str) -> list[SourceRow]:
    """Rows of a CSV with a header row; `,`, `;` or tab separated (Excel's locale decides)."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InvalidInput("file", "empty CSV: a header row with an 'email' column is needed")
    try:  # only the separator: the header alone cannot show how quotes are escaped
        delimiter = csv.Sniffer().sniff(lines[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    header = [_column(name) for name in next(reader)]
    if "email" not in header:
        raise InvalidInput("email", "the CSV header has no 'email' column")
    duplicates = sorted({name for name in header if name and header.count(name) > 1})
    if duplicates:
        raise InvalidInput(duplicates[0], "column appears more than once in the header")
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values: dict[str, Any] = {
            name: cell for name, cell in zip(header, cells, strict=False) if name
        }
        if len(cells) > len(header):
            values["__extra_cells__"] = cells[len(header) :]
        rows.append(SourceRow(number, values))
    return rows


def read_json(text: str) -> list[SourceRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput("file", f"not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise InvalidInput("file", "a JSON import must be an array of objects")
    return [SourceRow(i, item) for i, item in enumerate(data, start=1)]


def read_json_lines(text: str) -> list[SourceRow]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(SourceRow(number, json.loads(line)))
        except json.JSONDecodeError as exc:
            rows.append(SourceRow(number, {"__invalid_json__": str(exc)}))
    return rows


def read_rows(data: bytes, *, filename: str | None = None) -> list[SourceRow]:
    """The raw rows of a file; `InvalidInput` if the file as a whole cannot be read."""
    text = decode(data)
    fmt = detect_format(text, filename)
    if fmt == ImportFormat.CSV:
        return read_csv(text)
    if fmt == ImportFormat.JSON:
        return read_json(text)
    return read_json_lines(text)


# --- importing -----------------------------------------------------------------------------------


def _problem(row_number: int, field: str, reason: str) -> RowProblem:
    return RowProblem(row_number=row_number, field=field, reason=reason)


def _validation_problem(row_number: int, exc: ValidationError) -> RowProblem:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    if loc:
        return _problem(row_number, loc[0], message)
    field = "consent_source" if "consent_source" in message else "row"
    return _problem(row_number, field, message)


def _structural_problem(row: SourceRow) -> RowProblem | None:
    if not isinstance(row.values, dict):
        return _problem(row.row_number, "row", "not an object")
    if "__invalid_json__" in row.values:
        return _problem(row.row_number, "row", f"not valid JSON: {row.values['__invalid_json__']}")
    if "__extra_cells__" in row.values:
        return _problem(row.row_number, "row", "more cells than header columns")
    return None


def _withdrawn_since(session: Session, contact_id: UUID) -> datetime | None:
    newest = newest_consent(session, contact_id)
    if newest is not None and newest.action == ConsentAction.WITHDRAWN:
        return newest.recorded_at
    return None


@dataclass(frozen=True)
class _Imported:
    """A row written: `outcome` counts a recorded consent as an update."""

    outcome: UpsertOutcome
    needs_opt_in: bool


def _withdrawal_problem(
    session: Session, row: SourceRow, contact: Contact | None, consent: ConsentEvidence | None
) -> RowProblem | None:
    if consent is None or contact is None:
        return None
    withdrawn_at = _withdrawn_since(session, contact.id)
    # A grant timed at or before the withdrawal would be written but never decide (the
    # ledger's newest record does): refuse it rather than report consent that does not count.
    if withdrawn_at is not None and (consent.given_at is None or consent.given_at <= withdrawn_at):
        return _problem(
            row.row_number,
            "consent_time",
            f"the contact withdrew consent on {withdrawn_at:%Y-%m-%d %H:%M} UTC; an "
            "import re-grants it only with a consent_time after that",
        )
    return None


def _import_row(session: Session, row: SourceRow, *, check_mx: bool) -> _Imported | RowProblem:
    """Write one row in `session` (flushed, not committed), or say why it is refused; a refused
    row has written nothing."""
    problem = _structural_problem(row)
    if problem is not None:
        return problem
    values = {_column(str(k)): v for k, v in row.values.items()}
    try:
        parsed = ContactRow.model_validate(values)
        verdict = vetted_address(parsed.email, check_mx=check_mx)
    except ValidationError as exc:
        return _validation_problem(row.row_number, exc)
    except InvalidInput as exc:
        return _problem(row.row_number, exc.field, exc.reason)
    consent = parsed.consent()
    contact = session.exec(select(Contact).where(Contact.email == verdict.key)).first()
    problem = _withdrawal_problem(session, row, contact, consent)
    if problem is not None:
        return problem
    try:
        result = write_contact(
            session, verdict, parsed.contact_fields(), consent=consent, custom=parsed.custom()
        )
    except InvalidInput as exc:  # refused before anything was written (an external_id held)
        return _problem(row.row_number, exc.field, exc.reason)
    outcome = result.outcome
    if outcome == UpsertOutcome.UNCHANGED and result.consent_recorded:
        outcome = UpsertOutcome.UPDATED
    return _Imported(outcome, newest_consent(session, result.contact.id) is None)


def _tally(report: ImportReport, result: _Imported | RowProblem) -> None:
    if isinstance(result, RowProblem):
        report.rejected.append(result)
        return
    if result.outcome == UpsertOutcome.CREATED:
        report.created += 1
    elif result.outcome == UpsertOutcome.UPDATED:
        report.updated += 1
    else:
        report.unchanged += 1
    if result.needs_opt_in:
        report.needs_opt_in += 1


def import_rows(
    engine: sa.Engine,
    rows: Iterable[SourceRow],
    *,
    check_mx: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import each row on its own (committed one by one); `dry_run` writes nothing but reports
    what would happen. A refused row is reported and skipped, never half-written."""
    rows = list(rows)
    report = ImportReport()
    with Session(engine, expire_on_commit=False) as session:
        for done, row in enumerate(rows, start=1):
            result: _Imported | RowProblem
            try:
                result = _import_row(session, row, check_mx=check_mx)
                if not dry_run:
                    session.commit()
            except sa.exc.IntegrityError:
                # Another writer took the address or the external_id between this row's checks
                # and its commit: the row is refused whole and the import goes on.
                session.rollback()
                result = _problem(
                    row.row_number,
                    "row",
                    "written concurrently by another import (its address or external_id); "
                    "import the row again",
                )
            except BaseException:
                session.rollback()
                raise
            _tally(report, result)
            if progress is not None:
                progress(done, len(rows))
        session.rollback()
    return report


def import_file(
    engine: sa.Engine,
    data: bytes,
    *,
    filename: str | None = None,
    check_mx: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Read `data` (CSV, JSON or JSON Lines) and import its rows; see `import_rows`."""
    return import_rows(
        engine,
        read_rows(data, filename=filename),
        check_mx=check_mx,
        dry_run=dry_run,
        progress=progress,
    )


def iter_records(rows: Iterable[Mapping[str, Any]]) -> Iterator[SourceRow]:
    """API rows (a list of objects) as source rows numbered from 1."""
    for number, values in enumerate(rows, start=1):
        yield SourceRow(number, dict(values) if isinstance(values, Mapping) else values)


__all__ = [
    "ContactRow",
    "ImportFormat",
    "ImportReport",
    "Progress",
    "RowProblem",
    "SourceRow",
    "country_codes",
    "decode",
    "detect_format",
    "import_file",
    "import_rows",
    "iter_records",
    "read_rows",
]

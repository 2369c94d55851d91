"""`nurture simulate`: the timeline as a table or `--json`; a bad plan or option exits 2 naming it."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from cli.simulate import simulate

runner = CliRunner()


def invoke(*args: str):
    app = typer.Typer()
    app.command()(simulate)
    app.command("unused")(lambda: None)  # a group, so the command is named on the line
    return runner.invoke(app, ["simulate", *args], env={"COLUMNS": "200"})


def test_json_timeline_in_the_contacts_local_time() -> None:
    result = invoke(
        "trade_intro",
        "--events",
        "open@2h,click@3d",
        "--time-zone",
        "Europe/Berlin",
        "--country",
        "DE",
        "--start",
        "2028-12-21T10:00",
        "--json",
    )

    assert result.exit_code == 0, result.output
    timeline = json.loads(result.output[result.output.index("{") :])
    print(f"nurture simulate took {timeline['elapsed_seconds']} s")  # wall time, not asserted
    rows = [(e["what"], e["event"] or e["step"], e["local"]) for e in timeline["entries"]]
    assert rows == [
        ("sent", "intro", "Thu 2028-12-21 10:00"),
        ("event", "open@2h", "Thu 2028-12-21 12:00"),
        ("event", "click@3d", "Sun 2028-12-24 10:00"),
        # The click came on a Sunday before Christmas: the offer waits for Wednesday.
        ("sent", "offer", "Wed 2028-12-27 09:00"),
        ("ended", "completed", "Wed 2028-12-27 09:00"),
    ]
    assert [e["changed_path"] for e in timeline["entries"]] == [False, True, True, False, False]
    assert timeline["outcome"] == "completed"


def test_table_names_the_event_that_changed_the_path() -> None:
    result = invoke("trade_intro", "--events", "reply@1d", "--start", "2028-12-21T10:00Z")
    assert result.exit_code == 0, result.output
    assert "reply@1d" in result.output
    assert "ended the enrollment: replied" in result.output


def test_bad_input_exits_2_with_the_reason() -> None:
    for args, reason in [
        (["trade_intro", "--events", "open@soon"], "not an offset"),
        (["trade_intro", "--params", '{"open_window": "P9D"}'], "open_window"),
        (["trade_intro", "--start", "tomorrow"], "not an ISO 8601 time"),
        (["trade_intro", "--time-zone", "Mars/Olympus"], "unknown IANA time zone"),
        (["nope"], "no sequence named 'nope'"),
        # One run of the plan fails while the others go on: each ends, nothing hangs.
        (
            ["trade_intro", "--events", "open@1h,click:offer@1d", "--start", "2028-12-21T10:00"],
            "click:offer@1d: offer was not sent by then",
        ),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert reason in result.output, (args, result.output)

"""A cohort of a sequence from an outside package (NURTURE_SEQUENCES) is linted against that
package's own templates folder before anything starts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from temporalio.client import Client

from activities.cohorts.service import CohortService
from models.db import get_engine
from models.errors import ContentLintFailed
from models.settings import PROJECT_ROOT
from workflows.registry import configure

SHOUTY = """{% block subject %}FREE OFFER!!! ACT NOW{% endblock %}
{% block text %}{{ greeting }} BUY NOW!!!{% endblock %}
{% block html %}<p>{{ greeting }} BUY NOW!!!</p>{% endblock %}
"""


@pytest.fixture
def shouty_sequence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An outside module whose one template the content lint refuses; its sequence name."""
    suffix = uuid.uuid4().hex[:8]
    name, module = f"shouty_{suffix}", f"shouty_module_{suffix}"
    (tmp_path / f"{module}.py").write_text(
        "from workflows import Sequence, sequence\n\n\n"
        f"@sequence({name!r})\nclass Shouty(Sequence):\n"
        "    async def steps(self) -> None:\n        await self.send('hello')\n"
    )
    (tmp_path / "templates" / name).mkdir(parents=True)
    (tmp_path / "templates" / name / "hello.jinja").write_text(SHOUTY)
    monkeypatch.syspath_prepend(str(tmp_path))
    configure([module])
    yield name
    configure(())


async def test_a_cohort_start_lints_the_outside_sequences_own_templates(
    shouty_sequence: str, migrated_templates, tmp_path: Path
) -> None:
    engine = get_engine(migrated_templates.sqlite_copy(tmp_path / "nurture.db"))
    # Linting comes before Temporal is asked anything: no client is needed to be refused.
    service = CohortService(engine, cast(Client, None), "q", PROJECT_ROOT / "templates")
    with pytest.raises(ContentLintFailed) as caught:
        await service.start(name="spring", sequence=shouty_sequence, contact_ids=[uuid.uuid4()])
    errors: list[Any] = caught.value.errors
    assert errors
    assert {f.template for f in errors} == {f"{shouty_sequence}/hello"}

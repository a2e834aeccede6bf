"""`convene show`: what every service holds about one conference, after a council's
history went through them, without personal data unless asked for."""

import asyncio
import json
from collections.abc import Callable

from typer.testing import CliRunner

from services.cli import app as cli
from shared.runtime.settings import Settings
from tests.e2e.test_order_and_councils import back_fill
from tests.support.history import family_history


async def test_show_tells_a_conferences_story_without_personal_data_unless_asked(
    settings: Settings, fresh_settings: Callable[[], Settings], amqp_url: str, database: str
) -> None:
    await back_fill(settings, amqp_url, family_history("886"))
    env = {
        "AMQP_URL": amqp_url,
        "CONVENE_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "CONVENE_DB_SCHEMA_PREFIX": settings.db_schema_prefix,
        "CONVENE_LOG_LEVEL": "WARNING",
    }

    def show(*options: str) -> str:
        result = CliRunner().invoke(cli, ["show", "CONF-1", "--tenant", "886", *options], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    text = await asyncio.to_thread(show)
    print(text)
    for said in (
        "conference CONF-1 of council 886",
        "DAD          parent",  # the father, invited and then excluded
        "excluded: DAD (risk_of_violence)",
        "CONF-R-POL withheld DAD (family) (chair_ordered)",
        "CONF-R-POL withheld MUM (family) (not_shareable_before_conference)",
        "minutes v2 withheld DAD (parent)",
        "CONF-R-POL shared SW (social_worker)",
        "minutes v2 shared GRAN (family_member)",
        "C1: child_protection from 2025-11-26",
    ):
        assert said in text, said
    told = json.loads(await asyncio.to_thread(show, "--json"))
    mum = told["invitations"]["conference"]["invitees"][1]
    assert mum["participant"]["name"].startswith("(personal")  # who she is, not said
    assert told["invitations"]["conference"]["children"][0]["date_of_birth"].startswith("(pers")
    assert told["decisions"]["conference"]["core_group"]["meetings"][1]["on_time"] is False
    assert told["decisions"]["dead_letters"] == []
    shown = json.dumps(told)
    assert '"name": "M"' not in shown and "2017-03-01" not in shown  # a name, a birth date
    personal = json.loads(await asyncio.to_thread(show, "--json", "--personal"))
    assert personal["invitations"]["conference"]["invitees"][1]["participant"]["name"] == "M"
    other = await asyncio.to_thread(
        CliRunner().invoke, cli, ["show", "CONF-1", "--tenant", "807"], env=env
    )
    assert "invitations:" not in other.stdout  # another council's CONF-1: nothing of this one

from __future__ import annotations

import pytest

from forgeline.orchestrator.phases.checkpoints import commit_message
from forgeline.orchestrator.phases.common import PhaseError
from forgeline.settings import Settings

TEMPLATE = Settings(home="/tmp/x").commit_template


def test_subject_is_the_agents_own_summary_line() -> None:
    text = "## Fix the off-by-one in paginate()\n\nMore words."
    message = commit_message(
        text, ["a.py", "b.py"], "Fix it", template=TEMPLATE, agent="implementation"
    )
    assert message.splitlines()[0] == "Fix the off-by-one in paginate()"
    assert "- a.py\n- b.py" in message and "implementation agent" in message


def test_no_text_names_the_files_and_long_subjects_are_cut() -> None:
    assert commit_message("", ["x.py"], "r", template=TEMPLATE, agent="a").startswith(
        "Update x.py\n"
    )
    subject = commit_message("w" * 200, ["x"], "r", template=TEMPLATE, agent="a").splitlines()[0]
    assert len(subject) == 72 and subject.endswith("...")


def test_a_bad_template_is_a_clear_error() -> None:
    with pytest.raises(PhaseError, match="FORGELINE_COMMIT_TEMPLATE"):
        commit_message("x", ["a"], "r", template="{nope}", agent="a")

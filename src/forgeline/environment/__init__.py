"""Repository environments (DESIGN §11): the setup command, its run, and what agents see.

Each repository's setup command (given, `.forgeline/setup.sh` at the base commit, or
detected) runs once per project in the sandbox with the network on. What it builds lives
outside the repository, in a content-addressed directory shared by every project with
the same manifests (`$FORGELINE_HOME/envs/<key>/`); the repository itself is shown to every
sandboxed command at one fixed path per repository name (the *alias*), so editable installs
made at setup resolve to whichever code the command is looking at: the implementer's
repository, or an overwatcher's checkpoint worktree.
"""

from forgeline.environment.records import SetupResult, read_setup_results

__all__ = ["SetupResult", "read_setup_results"]

"""The default configuration rendered to a folder once, for the checks that read a folder."""

from __future__ import annotations

import pytest

from checks.pipeline import write_tree


@pytest.fixture(scope="session")
def rendered_dir(tmp_path_factory, rendered):
    directory = tmp_path_factory.mktemp("rendered")
    write_tree(rendered, directory)
    return directory

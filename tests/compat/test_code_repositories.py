"""Code repositories with the stock client.

The built-in GitHub and GitLab classes need PyGithub / python-gitlab and log in
to their service, so the repository is registered with a custom class (what
`zenml code-repository register --type=custom --source=...` does), from a
module that the scenario puts on its Python path.
"""

from __future__ import annotations

import textwrap
import uuid

import pytest

pytestmark = pytest.mark.compat

MODULE = "zenyard_compat_code_repo"
REPOSITORY_CLASS = '''
from typing import Optional

from zenml.code_repositories import BaseCodeRepository, LocalRepositoryContext


class StaticCodeRepository(BaseCodeRepository):
    """A repository that needs no service: login checks the config only."""

    def login(self) -> None:
        if "url" not in self._config:
            raise RuntimeError("a url is required")

    def download_files(self, commit: str, directory: str, repo_sub_directory: Optional[str]) -> None:
        raise NotImplementedError

    def get_local_context(self, path: str) -> Optional[LocalRepositoryContext]:
        return None
'''

LIFECYCLE = """
import sys

sys.path.insert(0, params["module_dir"])

from zenml.client import Client
from zenml.code_repositories import BaseCodeRepository
from zenml.config.source import Source

client = Client()
name = params["name"]
source = Source.from_import_path(params["source"])
config = {"url": "https://example.com/acme/repo.git"}

created = client.create_code_repository(name, config=config, source=source, description="first")
result["created"] = {"name": created.name, "source": created.source.import_path, "config": created.config,
                     "description": created.description}
result["duplicate"] = raises(client.create_code_repository, name, config=config, source=source)
result["bad_config"] = raises(client.create_code_repository, params["other"], config={}, source=source)

listed = client.list_code_repositories(name=name)
result["listed"] = [r.name for r in listed.items]
result["listed_all"] = name in [r.name for r in client.list_code_repositories(size=100).items]

fetched = client.get_code_repository(name, allow_name_prefix_match=False)
# What a pipeline run does with the model: load the class from the stored source.
instance = BaseCodeRepository.from_model(fetched)
result["loaded"] = {"class": type(instance).__name__, "id_kept": instance.id == created.id,
                    "url": instance._config.get("url")}

updated = client.update_code_repository(name, description="second")
result["updated"] = updated.description

client.delete_code_repository(name)
result["get_deleted"] = raises(client.get_code_repository, name, allow_name_prefix_match=False)
"""


@pytest.fixture(scope="module")
def lifecycle(zenml_client, tmp_path_factory):
    module_dir = tmp_path_factory.mktemp("code-repo-module")
    (module_dir / f"{MODULE}.py").write_text(textwrap.dedent(REPOSITORY_CLASS))
    suffix = uuid.uuid4().hex[:8]
    return zenml_client.run(
        LIFECYCLE, module_dir=str(module_dir), source=f"{MODULE}.StaticCodeRepository",
        name=f"repo-{suffix}", other=f"repo-other-{suffix}",
    )


def _error_type(info):
    return info["type"] if info else None


def test_register_and_list(lifecycle):
    assert lifecycle["created"] == {
        "name": lifecycle["listed"][0],
        "source": f"{MODULE}.StaticCodeRepository",
        "config": {"url": "https://example.com/acme/repo.git"},
        "description": "first",
    }
    assert len(lifecycle["listed"]) == 1
    assert lifecycle["listed_all"] is True


def test_stored_source_loads_the_class(lifecycle):
    assert lifecycle["loaded"] == {"class": "StaticCodeRepository", "id_kept": True,
                                   "url": "https://example.com/acme/repo.git"}


def test_duplicate_name_and_invalid_config(lifecycle):
    assert _error_type(lifecycle["duplicate"]) == "zenml.exceptions.EntityExistsError", lifecycle
    # the client validates the config by instantiating the class: nothing is sent
    assert _error_type(lifecycle["bad_config"]) == "builtins.RuntimeError", lifecycle


def test_update_and_delete(lifecycle):
    assert lifecycle["updated"] == "second"
    assert _error_type(lifecycle["get_deleted"]) == "builtins.KeyError", lifecycle

"""deploy/install.py's installer pin: the class environment is built with the uv the Makefile
pins, a checkout without that pin gets a message that says so, and a new pin rebuilds the
environment (tests/test_hub.py runs the whole install)."""
import sys

import pytest

from tools.assignments import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a class server is Linux")


@pytest.fixture
def install():
    from hubkit import deploy_install

    return deploy_install()


def test_the_environment_is_built_with_the_makefiles_uv(install):
    makefile = (ROOT / "Makefile").read_text().splitlines()
    assert f"UV_VERSION := {install.uv_version()}" in makefile
    assert any("uv==$(UV_VERSION)" in line for line in makefile), "the Makefile installs the uv it pins"


def test_a_checkout_without_the_pin_is_told_so(install, tmp_path, monkeypatch):
    (tmp_path / "Makefile").write_text("# no pin here\nPYTHON ?= python3\n")
    monkeypatch.setattr(install, "ROOT", tmp_path)
    with pytest.raises(install.InstallError, match="no UV_VERSION in .*Makefile: run this script from a checkout"):
        install.uv_version()


def test_a_new_uv_pin_rebuilds_the_environment(install, monkeypatch):
    before = install.environment_key(sys.executable)
    monkeypatch.setattr(install, "uv_version", lambda: "0.0.1")
    assert install.environment_key(sys.executable) != before

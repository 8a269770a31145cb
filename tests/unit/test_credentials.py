import pytest

from mailflow.credentials import password_for
from mailflow.errors import SecretError
from mailflow.rules import ImapSettings


def settings(**kw):
    return ImapSettings(host="imap.example.org", port=993, security="tls", username="u", **kw)


def test_password_from_environment(monkeypatch):
    monkeypatch.setenv("MF_TEST_PW", "s3cret")
    assert password_for(settings(password_env="MF_TEST_PW"), "mailbox x") == "s3cret"


def test_missing_environment_variable_says_what_to_do(monkeypatch):
    monkeypatch.delenv("MF_TEST_PW", raising=False)
    with pytest.raises(SecretError, match="MF_TEST_PW is not set; export it"):
        password_for(settings(password_env="MF_TEST_PW"), "mailbox x")


def test_password_command_output_without_trailing_newline():
    assert password_for(settings(password_command="printf 'pw-from-command\\n'"), "mailbox x") == "pw-from-command"


def test_failing_password_command_never_shows_its_output():
    with pytest.raises(SecretError) as caught:
        password_for(settings(password_command="sh -c 'echo leaked-secret; exit 3'"), "mailbox x")
    assert "exited with status 3" in str(caught.value) and "leaked-secret" not in str(caught.value)


def test_both_sources_is_a_rules_error():
    with pytest.raises(ValueError, match="give one of password_env, password_command or oauth2_token_command"):
        settings(password_env="A", password_command="b")

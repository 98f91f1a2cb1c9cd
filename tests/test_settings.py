"""Settings: declared once, documented in config.example.toml, loaded and checked."""

import tomllib
from pathlib import Path

import pytest

from carto import settings as s

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_config_example() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    flat = {f"{sec}.{name}" for sec, body in example.items() for name in body}
    declared = {x.key for x in s.SETTINGS}
    assert declared - flat == set(), "settings missing from config.example.toml"
    assert flat - declared == set(), "config.example.toml lists undeclared settings"


def test_config_example_is_the_rendered_declarations() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert text == s.render_example_config(), "regenerate: python -m carto config-example"


def test_config_example_holds_defaults_and_help() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    for setting in s.SETTINGS:
        assert example[setting.section][setting.name] == setting.default
        assert setting.help.split()[0] in text
        assert setting.help.strip(), f"{setting.key} has no help text"


def test_settings_are_declared_once() -> None:
    keys = [x.key for x in s.SETTINGS]
    assert len(keys) == len(set(keys))


def test_no_config_file_means_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(s.CONFIG_ENV, raising=False)
    conf = s.load_settings()
    assert conf.demo
    assert conf.source is None
    assert conf.store_path == tmp_path / "data/demo.sqlite"


def test_config_file_overrides_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "conf.toml"
    path.write_text('[airtable]\nbase_id = "appXYZ"\n[store]\npath = "snap.db"\n', encoding="utf-8")
    monkeypatch.setenv(s.CONFIG_ENV, str(path))
    conf = s.load_settings()
    assert not conf.demo
    assert conf["airtable.base_id"] == "appXYZ"
    assert conf["airtable.passages_table"] == "Passages"
    assert conf.store_path == tmp_path / "snap.db"


def test_explicit_path_wins_over_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("[demo]\nseed = 1\n", encoding="utf-8")
    b.write_text("[demo]\nseed = 2\n", encoding="utf-8")
    monkeypatch.setenv(s.CONFIG_ENV, str(a))
    assert s.load_settings(b)["demo.seed"] == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[airtable]\nbase = 'x'\n", "réglage inconnu « airtable.base »"),
        ("[demo]\nseed = 'abc'\n", "demo.seed : un nombre entier attendu, reçu 'abc'"),
        ("[general]\ndemo = 1\n", "general.demo : true ou false attendu, reçu 1"),
        ("[demo]\nseed = \n", "TOML invalide"),
        ("seed = 3\n", "doit être une [section]"),
    ],
)
def test_bad_config_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(s.ConfigError, match=message.replace("[", r"\[")):
        s.load_settings(path)


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(s.ConfigError, match="introuvable"):
        s.load_settings(tmp_path / "nope.toml")


def test_token_from_environment_then_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets.toml"
    monkeypatch.delenv(s.TOKEN_ENV, raising=False)
    assert s.airtable_token(secrets) is None
    secrets.write_text('AIRTABLE_TOKEN = "patFROMFILE"\n', encoding="utf-8")
    assert s.airtable_token(secrets) == "patFROMFILE"
    monkeypatch.setenv(s.TOKEN_ENV, "patFROMENV")
    assert s.airtable_token(secrets) == "patFROMENV"


def test_undeclared_key_is_refused() -> None:
    conf = s.Settings({})
    with pytest.raises(KeyError):
        conf["nope.nothing"]
    with pytest.raises(KeyError):
        conf.with_values(nope__nothing=1)

"""``ssphub-bot subscribers import|export`` on a SQLite database named by the configuration."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from bot.cli import main

GRIST = """Email,Nom,Nom_domaine,Supprimez_mon_compte
camille.durand@insee.fr,Camille Durand,insee.fr,false
jean.dupont@interieur.gouv.fr,Jean Dupont,interieur.gouv.fr,
pas-une-adresse,,,false
parti@insee.fr,Parti,insee.fr,true
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "bot.yaml"
    path.write_text(
        "matrix: {homeserver: 'http://127.0.0.1:8008', user_id: '@bot:localhost', password: pw}\n"
        f"rooms: ['!hub:localhost']\ndata_dir: {tmp_path / 'data'}\n",
        "utf-8",
    )
    (tmp_path / "data").mkdir()
    return path


def test_import_then_export_round_trip(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Import reports counts and line numbers only; export prints the Grist-shaped CSV."""
    grist = tmp_path / "contact.csv"
    grist.write_text(GRIST, "utf-8")
    assert main(["subscribers", "import", str(grist), "--config", str(config_file)]) == 0
    summary = capsys.readouterr().out
    assert summary.strip() == "2 added, 0 already present, 0 erased, 1 invalid (lines 4)"
    assert main(["subscribers", "import", str(grist), "--config", str(config_file)]) == 0
    assert capsys.readouterr().out.startswith("0 added, 2 already present")
    assert main(["subscribers", "export", "--config", str(config_file)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["Email"], r["Nom"], r["Source"]) for r in rows] == [
        ("camille.durand@insee.fr", "Camille Durand", "import"),
        ("jean.dupont@interieur.gouv.fr", "Jean Dupont", "import"),
    ]


def test_json_export_to_a_file(tmp_path: Path, config_file: Path) -> None:
    """--format json --output writes a JSON list to the file."""
    out = tmp_path / "abonnes.json"
    args = ["subscribers", "export", "--format", "json", "--output", str(out)]
    assert main([*args, "--config", str(config_file)]) == 0
    assert json.loads(out.read_text("utf-8")) == []


def test_a_file_that_is_not_the_contact_table_is_refused(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No Email column, or no file at all: exit code 1 and a reason."""
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("Nom\nCamille\n", "utf-8")
    assert main(["subscribers", "import", str(wrong), "--config", str(config_file)]) == 1
    assert "no Email column" in capsys.readouterr().err
    missing = tmp_path / "missing.csv"
    assert main(["subscribers", "import", str(missing), "--config", str(config_file)]) == 1
    assert "cannot read the file" in capsys.readouterr().err

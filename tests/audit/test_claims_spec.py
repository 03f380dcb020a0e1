"""The claims file schema: the shipped files load, and every malformed claim is refused in one line
that names the file, the claim and the field."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest
import yaml

from ganaudit.audit.claims_spec import STATISTICS, load_claims, parse_claims
from ganaudit.utils.errors import ConfigError
from tests.audit.synth import claim

ROOT = Path(__file__).resolve().parents[2]
KURACH = ROOT / "audits" / "claims" / "kurach2019.yaml"


@pytest.mark.parametrize("name", ["kurach2019", "demo"])
def test_shipped_claims_files_load(name):
    cf = load_claims(ROOT / "audits" / "claims" / f"{name}.yaml")
    assert all(c.cites and c.statement for c in cf.claims)


def test_kurach_file_covers_every_finding_in_both_wordings():
    cf = load_claims(KURACH)
    by_source = {s: [c for c in cf.claims if c.source == s] for s in ("icml", "arxiv_v1")}
    findings = ["BN in D hurts", "GP helps", "does not stabilize", "n_dis = 5", "longer training", "best default",
                "cheaper than GP", "NS is stable", "comparable results", "marginal further gains", "compute cost"]
    for f in findings:  # each sentence of spec §8 "Findings" is cited by at least one ICML claim
        assert any(f in c.cites for c in by_source["icml"]), f
    v1 = ["non-saturating loss is stable", "both improve model quality", "computational budget",
          "more efficiently", "neither fully solves stability", "greatly improves", "for both architectures"]
    for f in v1:
        assert any(f in c.cites for c in by_source["arxiv_v1"]), f
    assert {"equivalent"} <= {c.direction for c in cf.claims} and all(
        c.margin for c in cf.claims if c.direction == "equivalent")
    assert all(c.choice for c in cf.claims)  # every wording of a sentence as a statistic is documented


def test_every_study_slice_names_claims_of_the_file():
    known = {c.id for c in load_claims(KURACH).claims}
    for path in glob.glob(str(ROOT / "conf" / "study" / "*.yaml")):
        study = yaml.safe_load(Path(path).read_text())
        assert "claims" in study, path
        assert set(study["claims"]) <= known, (path, set(study["claims"]) - known)


def _error(raw) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_claims(raw, "f.yaml")
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_unknown_field_names_the_nearest():
    msg = _error({"claims": [claim("x", statisitc="median")]})
    assert msg.startswith("f.yaml claim 'x': unknown field 'statisitc'") and "did you mean 'statistic'" in msg
    msg = _error({"claims": [claim("x", a={"nrom": "batch"})]})
    assert "claim 'x' field 'a': unknown field 'nrom'" in msg and "'norm'" in msg
    assert "unknown field 'alhpa'" in _error({"claims": [claim("x")], "alhpa": 0.1})


@pytest.mark.parametrize("bad, field", [
    ({"statistic": "mean"}, "statistic"), ({"direction": "better"}, "direction"),
    ({"statistic": "quantile"}, "q"), ({"statistic": "frac_above"}, "threshold"),
    ({"statistic": "budget", "k": 5}, "unit"), ({"statistic": "budget", "unit": "settings"}, "k"),
    ({"direction": "equivalent"}, "margin"), ({"margin": 0.1}, "margin"),
    ({"direction": "equivalent", "margin": 0.1, "statistic": "iqr"}, "statistic"),
    ({"scale": "log", "statistic": "frac_diverged"}, "scale"), ({"group_by": ["seeds"]}, "group_by"),
    ({"cites": ""}, "cites"), ({"a": {}}, "a"), ({"b": {"loss": []}}, "b.loss"), ({"unit": "seeds"}, "unit"),
])
def test_bad_claim_names_file_claim_and_field(bad, field):
    msg = _error({"claims": [claim("c1", **bad)]})
    assert msg.startswith("f.yaml claim 'c1'") and f"field '{field}" in msg


def test_duplicate_ids_and_empty_file_refused():
    assert "repeated: x" in _error({"claims": [claim("x"), claim("x")]})
    assert "non-empty list 'claims'" in _error({"claims": []})


def test_missing_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_claims(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("claims: [\n  - id: x\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML \(line"):
        load_claims(bad)


def test_every_statistic_is_accepted_with_its_fields():
    extra = {"quantile": {"q": 0.1}, "top_fraction": {"q": 0.05}, "frac_above": {"threshold": 100},
             "budget": {"k": 3, "unit": "settings"}}
    cf = parse_claims({"claims": [claim(s, s, **extra.get(s, {})) for s in STATISTICS]})
    assert [c.statistic for c in cf.claims] == list(STATISTICS)

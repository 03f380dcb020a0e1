"""The claims file: findings of a study written as testable statements (docs/claims.md).

    claims = load_claims("audits/claims/kurach2019.yaml")   # ConfigError naming file, claim id, field

A file is ``{claims: [<claim>, ...]}`` (plus optional ``alpha``, ``n_boot``, ``n_perm``, ``seed``,
``unscored_fid``). A claim compares side ``a`` with side ``b`` (runs selected by axis values, e.g.
``{norm: batch}``), within each group of ``group_by`` (e.g. ``[dataset, arch]``), on one statistic of
the runs' score (lower FID is better), in one direction:

    less / greater   statistic(a) below / above statistic(b)
    equivalent       |statistic(a) - statistic(b)| < margin (TOST; "comparable", "marginal")

Every claim says where it comes from (``cites``) and, where a vague sentence became a statistic, how
(``choice``). Unknown fields are refused with the nearest known name.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ganaudit.audit.budget import NAN_FID_SENTINEL
from ganaudit.utils.errors import ConfigError

__all__ = ["Claim", "ClaimsFile", "load_claims", "parse_claims", "SELECT_KEYS", "STATISTICS", "DIRECTIONS"]

#: run columns (``ganaudit.study.store.records_to_frame``) a side or ``where`` may select on
SELECT_KEYS = ("dataset", "arch", "loss", "norm", "penalty", "n_dis", "lambda", "lr", "beta1", "beta2",
               "d_steps", "label", "setting", "source")
#: statistic of one side's values -> needs (q | threshold | k)
STATISTICS = ("median", "quantile", "iqr", "frac_above", "frac_diverged", "top_fraction", "budget")
DIRECTIONS = ("less", "greater", "equivalent")
SCALES = ("linear", "log")
UNITS = ("runs", "settings")
SOURCES = ("icml", "arxiv_v1", "demo")
METRICS = ("fid_min", "fid_final", "wall_time_s")  # wall_time_s: compute cost (seconds per run)
LOCATION = ("median", "quantile", "top_fraction")  # statistics for which a shift (TOST) is meaningful


@dataclass(frozen=True)
class Claim:
    """One testable statement (module docstring); ``a``/``b``/``where``: column -> value or list."""

    id: str
    statement: str
    cites: str
    a: dict
    b: dict
    statistic: str
    direction: str
    source: str = "icml"
    where: dict = field(default_factory=dict)
    group_by: tuple = ()
    metric: str = "fid_min"          # fid_min | fid_final | wall_time_s (a cost claim)
    q: float | None = None           # quantile (statistic quantile) or top fraction (top_fraction)
    threshold: float | None = None   # frac_above: FID threshold
    k: int | None = None             # budget: number of models trained
    margin: float | None = None      # equivalent: in units of the scale (log: 0.1 ~ 10 %)
    scale: str = "linear"
    unit: str = "runs"
    choice: str = ""


@dataclass(frozen=True)
class ClaimsFile:
    path: Path
    claims: tuple
    alpha: float = 0.05
    n_boot: int = 2000
    n_perm: int = 2000
    seed: int = 0
    unscored_fid: float = NAN_FID_SENTINEL
    power: float = 0.8


_CLAIM_FIELDS = tuple(f.name for f in fields(Claim))
_FILE_FIELDS = ("claims", "alpha", "n_boot", "n_perm", "seed", "unscored_fid", "power", "description")


def _unknown(where: str, key: str, known) -> ConfigError:
    near = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean '{near[0]}'?" if near else f"; expected one of {', '.join(known)}"
    return ConfigError(f"{where}: unknown field '{key}'{hint}")


def _selection(where: str, name: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} field '{name}': expected a mapping of run columns to values, got {value!r}")
    for key, v in value.items():
        if key not in SELECT_KEYS:
            raise _unknown(f"{where} field '{name}'", str(key), SELECT_KEYS)
        if isinstance(v, (dict, type(None))) or (isinstance(v, list) and not v):
            raise ConfigError(f"{where} field '{name}.{key}': expected a value or a non-empty list, got {v!r}")
    return dict(value)


def _choice(where: str, name: str, value: Any, allowed) -> str:
    if value not in allowed:
        raise ConfigError(f"{where} field '{name}' = {value!r}: expected one of {', '.join(allowed)}")
    return value


def _number(where: str, name: str, value: Any, lo: float, hi: float, kind=float):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not lo <= value <= hi or (kind is int and int(value) != value):
        raise ConfigError(f"{where} field '{name}' = {value!r}: expected a {kind.__name__} in [{lo:g}, {hi:g}]")
    return kind(value)


def _claim(raw: Any, where: str) -> Claim:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping (a claim), got {raw!r}")
    cid = raw.get("id")
    if not isinstance(cid, str) or not cid.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"{where} field 'id' = {cid!r}: expected a name of letters, digits, '_' or '-'")
    where = f"{where.rsplit(' claim #', 1)[0]} claim '{cid}'"
    for key in raw:
        if key not in _CLAIM_FIELDS:
            raise _unknown(where, str(key), _CLAIM_FIELDS)
    for req in ("statement", "cites", "a", "b", "statistic", "direction"):
        if raw.get(req) in (None, "", {}):
            raise ConfigError(f"{where} field '{req}': missing; every claim needs "
                              "statement, cites, a, b, statistic, direction")
    out = dict(raw)
    for name in ("a", "b", "where"):
        out[name] = _selection(where, name, raw.get(name))
    out["statistic"] = _choice(where, "statistic", raw["statistic"], STATISTICS)
    out["direction"] = _choice(where, "direction", raw["direction"], DIRECTIONS)
    out["source"] = _choice(where, "source", raw.get("source", "icml"), SOURCES)
    out["scale"] = _choice(where, "scale", raw.get("scale", "linear"), SCALES)
    out["unit"] = _choice(where, "unit", raw.get("unit", "runs"), UNITS)
    out["metric"] = _choice(where, "metric", raw.get("metric", "fid_min"), METRICS)
    gb = raw.get("group_by") or []
    for g in gb:
        if g not in SELECT_KEYS:
            raise _unknown(f"{where} field 'group_by'", str(g), SELECT_KEYS)
    out["group_by"] = tuple(gb)
    _requirements(where, out)
    return Claim(**out)


def _requirements(where: str, c: dict) -> None:
    """The fields a statistic or direction needs, and those it must not have."""
    stat = c["statistic"]
    if stat in ("quantile", "top_fraction"):
        c["q"] = _number(where, "q", c.get("q"), 1e-9, 1.0)
    if stat == "frac_above":
        c["threshold"] = _number(where, "threshold", c.get("threshold"), 0.0, float("inf"))
    if stat == "budget":
        c["k"] = _number(where, "k", c.get("k"), 1, 10**6, int)
        if c["unit"] != "settings":
            raise ConfigError(f"{where} field 'unit' = {c['unit']!r}: a budget claim draws settings; "
                              "expected 'settings'")
    if c["scale"] == "log" and stat not in LOCATION + ("iqr",):
        raise ConfigError(f"{where} field 'scale' = 'log': a log scale is for FID locations and spreads; "
                          f"statistic {stat!r} counts runs, expected scale 'linear'")
    if c["direction"] == "equivalent":
        c["margin"] = _number(where, "margin", c.get("margin"), 1e-12, float("inf"))
        if stat not in LOCATION:
            raise ConfigError(f"{where} field 'statistic' = {stat!r}: an equivalence claim shifts a location; "
                              f"expected one of {', '.join(LOCATION)}")
    elif c.get("margin") is not None:
        raise ConfigError(f"{where} field 'margin': only an 'equivalent' claim has a margin")


def parse_claims(raw: Any, path: str | Path = "<claims>") -> ClaimsFile:
    """Validate a loaded claims document; ConfigError ``<file> claim '<id>' field '<f>': ...``."""
    path = Path(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list) or not raw["claims"]:
        raise ConfigError(f"{path}: expected a mapping with a non-empty list 'claims'")
    for key in raw:
        if key not in _FILE_FIELDS:
            raise _unknown(str(path), str(key), _FILE_FIELDS)
    claims = tuple(_claim(c, f"{path} claim #{i + 1}") for i, c in enumerate(raw["claims"]))
    ids = [c.id for c in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"{path}: claim ids must be unique; repeated: {', '.join(dup)}")
    opts = {"alpha": (1e-6, 0.5, float), "n_boot": (10, 10**7, int), "n_perm": (10, 10**7, int),
            "seed": (0, 2**32 - 1, int), "unscored_fid": (0.0, float("inf"), float), "power": (0.5, 0.999, float)}
    kw = {k: _number(str(path), k, raw[k], lo, hi, kind) for k, (lo, hi, kind) in opts.items() if k in raw}
    return ClaimsFile(path=path, claims=claims, **kw)


def load_claims(path: str | Path) -> ClaimsFile:
    """Read and validate a claims YAML file (ConfigError when missing or malformed)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"claims file '{path}' not found; expected a YAML file such as audits/claims/demo.yaml")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ConfigError(f"{path}: not valid YAML" + (f" (line {line + 1})" if line is not None else "")) from None
    return parse_claims(raw, path)

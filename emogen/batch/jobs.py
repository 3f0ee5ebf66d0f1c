"""Job files (YAML or JSONL) -> a validated, deterministically expanded list of `Job` records.

A YAML file is a list of job entries, or a mapping with ``jobs:`` (that list) and optional
``defaults:`` (modality -> field values for every job of that modality). A JSONL file has one entry
per line. An entry names its ``modality`` and that modality's fields (modalities.py), and optionally:

- ``id``: the job's name (letters, digits, ``. _ -``). Without one, the id is the modality and a hash
  of the fields, so it stays the same however the file is reordered;
- ``sweep``: field -> list of values; the entry becomes one job per combination, in the order the
  fields are written, the last varying fastest. ``emotion: {grid: N}`` sweeps an N x N valence x
  arousal grid (as ``emogen image --grid``). Named entries number their jobs: ``id-00``, ``id-01``, ...;
- ``output``: where the file goes, relative to the output folder; ``{id}``, ``{seed}`` and ``{index}``
  (the position in the sweep) are filled in. Default: ``<modality>/<id><suffix>``.

Everything is checked before any job runs, and every problem is reported at once with the file, line
and field it comes from.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
import typing
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path, PurePosixPath
from types import UnionType
from typing import Any, Mapping

import yaml

from emogen.batch.modalities import FieldError, Modality, get_modality
from emogen.errors import EmotionError

ENTRY_KEYS = ("id", "modality", "output", "sweep")
OUTPUT_FIELDS = ("id", "seed", "index")
# Files of the batch itself in the output folder; no job may write over them.
# The report's files are summary.md and summary_*.png (report.py).
RESERVED_OUTPUTS = ("manifest.jsonl", ".manifest.lock")
REPORT_PREFIX = "summary"
MAX_PROBLEMS_SHOWN = 20
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class Job:
    id: str
    modality: str
    params: Any  # the modality's params dataclass (modalities.py)
    output: str  # a POSIX path relative to the output folder
    index: int  # position in the expanded list; under sharding rank r runs index % world == r
    source: str  # "jobs.yaml line 12", for messages

    def params_dict(self) -> dict:
        return asdict(self.params)


@dataclass
class Entry:
    """One job entry as written, with the line of the entry and of each of its fields."""

    values: dict
    line: int
    field_lines: dict


class JobFileError(EmotionError):
    """Problems in a job file, all of them, each with its line and field."""


# ----- reading: YAML or JSONL, keeping line numbers -------------------------------------------------


class _LinedMapping(dict):
    line: int = 0
    field_lines: dict


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings remember their lines and refuse duplicate keys (PyYAML keeps the last)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LinedMapping:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise JobFileError(f"line {key_node.start_mark.line + 1}: field {key!r} is given twice "
                               f"(first on line {seen[key]})")
        seen[key] = key_node.start_mark.line + 1
    mapping = _LinedMapping(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.field_lines = seen
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(text: str, name: str) -> tuple[list[Entry], dict[str, Entry]]:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except JobFileError as err:
        raise JobFileError(f"{name} {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise JobFileError(f"{name}{where}: not valid YAML ({getattr(err, 'problem', None) or err})") from None
    defaults: dict[str, Entry] = {}
    if isinstance(document, Mapping):
        unknown = [key for key in document if key not in ("jobs", "defaults")]
        if unknown:
            raise JobFileError(f"{name} line {document.field_lines[unknown[0]]}: unknown top-level field "
                               f"{unknown[0]!r}; accepted: jobs, defaults")
        raw_defaults = document.get("defaults") or {}
        if not isinstance(raw_defaults, Mapping):
            raise JobFileError(f"{name} line {document.field_lines['defaults']}: 'defaults' must map modality "
                               "names to fields, e.g. defaults: {music: {seconds: 4}}")
        for modality, values in raw_defaults.items():
            line = raw_defaults.field_lines[modality]
            try:
                get_modality(modality)
            except FieldError as err:
                raise JobFileError(f"{name} line {line}, defaults: {err}") from None
            if not isinstance(values, Mapping):
                raise JobFileError(f"{name} line {line}: defaults for {modality} must be a mapping of fields")
            defaults[modality] = Entry(dict(values), values.line, values.field_lines)
        document = document.get("jobs")
    if not isinstance(document, list):
        raise JobFileError(f"{name}: expected a list of jobs (or 'jobs:' with one), got "
                           f"{type(document).__name__}")
    entries = []
    for position, item in enumerate(document):
        if not isinstance(item, Mapping):
            raise JobFileError(f"{name}: job {position + 1} must be a mapping of fields, got {item!r}")
        entries.append(Entry(dict(item), item.line, item.field_lines))
    return entries, defaults


def _read_jsonl(text: str, name: str) -> list[Entry]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, object_pairs_hook=_no_duplicate_keys)
        except (json.JSONDecodeError, RecursionError) as err:
            raise JobFileError(f"{name} line {number}: not valid JSON ({err})") from None
        except JobFileError as err:
            raise JobFileError(f"{name} line {number}: {err}") from None
        if not isinstance(item, dict):
            raise JobFileError(f"{name} line {number}: a job must be a JSON object, got {type(item).__name__}")
        entries.append(Entry(item, number, {key: number for key in item}))
    return entries


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise JobFileError(f"field {key!r} is given twice")
    return dict(pairs)


# ----- expansion and checks ---------------------------------------------------------------------


def load_jobs(path: str | Path, out: str | Path) -> list[Job]:
    """Every job of the file at ``path``, checked and expanded, writing under the folder ``out``."""
    path = Path(path)
    name = path.name
    if path.suffix.lower() not in (".yaml", ".yml", ".jsonl"):
        raise JobFileError(f"job file must end in .yaml, .yml or .jsonl, got {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise JobFileError(f"cannot read job file {path}: {err}") from None
    entries, defaults = (_read_jsonl(text, name), {}) if path.suffix.lower() == ".jsonl" else _read_yaml(text, name)
    problems: list[str] = []
    jobs: list[Job] = []
    for entry in entries:
        try:
            jobs += _expand(entry, defaults, name, first_index=len(jobs), problems=problems)
        except FieldError as err:  # a problem of the entry as a whole (modality, sweep)
            problems.append(f"{name} line {entry.field_lines.get(err.field, entry.line)}, field {err.field!r}: {err}")
    problems += _clashes(jobs, Path(out))
    if problems:
        unique = list(dict.fromkeys(problems))
        shown = unique[:MAX_PROBLEMS_SHOWN]
        more = f"\n  ... and {len(unique) - len(shown)} more" if len(unique) > len(shown) else ""
        raise JobFileError(f"{len(unique)} problem(s) in {path}; nothing was run:\n  - " + "\n  - ".join(shown) + more)
    if not jobs:
        raise JobFileError(f"{path} has no jobs")
    return jobs


def _expand(entry: Entry, defaults: dict[str, Entry], name: str, first_index: int, problems: list[str]) -> list[Job]:
    modality = get_modality(entry.values.get("modality"))
    sweep = _sweep(entry.values.get("sweep"), modality)
    default = defaults.get(modality.name, Entry({}, entry.line, {}))
    fixed = {key: value for key, value in entry.values.items() if key not in ENTRY_KEYS}
    lines = {**{key: default.field_lines.get(key, default.line) for key in default.values},
             **{key: entry.field_lines[key] for key in fixed}}
    for field in sweep:
        if field in fixed:
            raise FieldError("sweep", f"field {field!r} is both fixed and swept; give it in one place")
        sweep_lines = getattr(entry.values["sweep"], "field_lines", {})  # YAML knows each swept field's line
        lines[field] = sweep_lines.get(field, entry.field_lines["sweep"])
    given_id = entry.values.get("id")
    if given_id is not None and (not isinstance(given_id, str) or not _ID.match(given_id)):
        raise FieldError("id", f"must be 1-100 letters, digits, '.', '_' or '-' starting with a letter or digit, "
                               f"got {given_id!r}")
    combinations = list(itertools.product(*sweep.values()))
    width = len(str(len(combinations) - 1))
    jobs = []
    for position, combination in enumerate(combinations):
        values = {**default.values, **fixed, **dict(zip(sweep, combination))}
        try:
            params = _params(modality, values)
        except FieldError as err:
            problems.append(f"{name} line {lines.get(err.field, entry.line)}, {modality.name} job, "
                            f"field {err.field!r}: {err}")
            continue
        if given_id is None:
            job_id = f"{modality.name}-{_digest(modality, params)}"
        else:
            job_id = given_id if not sweep else f"{given_id}-{position:0{width}d}"
        try:
            output = _output(entry.values.get("output"), modality, job_id, params, position)
        except FieldError as err:
            problems.append(f"{name} line {entry.field_lines.get('output', entry.line)}, field 'output': {err}")
            continue
        jobs.append(Job(job_id, modality.name, params, output, first_index + len(jobs), f"{name} line {entry.line}"))
    return jobs


def _sweep(sweep, modality: Modality) -> dict[str, list]:
    if sweep is None:
        return {}
    if not isinstance(sweep, Mapping) or not sweep:
        raise FieldError("sweep", "must map fields to lists of values, e.g. sweep: {emotion: [joy, sadness], seed: [0, 1]}")
    accepted = [f.name for f in fields(modality.params)]
    expanded = {}
    for field, values in sweep.items():
        if field not in accepted:
            raise FieldError("sweep", f"cannot sweep {field!r}: not a {modality.name} field; accepted: {', '.join(accepted)}")
        if field == "emotion" and isinstance(values, Mapping):
            values = _emotion_grid(values)
        if not isinstance(values, list) or not values:
            raise FieldError("sweep", f"{field!r} must be a non-empty list of values, got {values!r}")
        expanded[field] = values
    return expanded


def _emotion_grid(values: Mapping) -> list[str]:
    if set(values) != {"grid"} or isinstance(values["grid"], bool) or not isinstance(values["grid"], int):
        raise FieldError("sweep", f"an emotion grid is written {{grid: N}} with an integer N >= 2, got {dict(values)!r}")
    from emogen.image.commands import grid_cells

    try:
        return [cell.spec for cell in grid_cells(values["grid"])]
    except EmotionError as err:
        raise FieldError("sweep", f"emotion grid: {err}") from None


def _params(modality: Modality, values: dict):
    """The modality's params dataclass from ``values``: known fields only, right types, checked."""
    hints = typing.get_type_hints(modality.params)
    declared = fields(modality.params)
    accepted = [f.name for f in declared]
    for key in values:
        if key not in accepted:
            raise FieldError(key, f"unknown field {key!r} for {modality.name}; accepted: "
                                  f"{', '.join(list(ENTRY_KEYS) + accepted)}")
    missing = [f.name for f in declared if f.name not in values and f.default is MISSING]
    if missing:
        raise FieldError(missing[0], f"{modality.name} jobs need {', '.join(repr(m) for m in missing)}")
    converted = {key: _typed(key, value, hints[key]) for key, value in values.items()}
    params = modality.params(**converted)
    params.check()
    return params


def _typed(field: str, value, hint):
    """``value`` if it has the declared type (ints pass as floats; bools never pass as numbers)."""
    options = typing.get_args(hint) if isinstance(hint, UnionType) else (hint,)
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option in (int, str) and isinstance(value, option) and not isinstance(value, bool):
            return value
    kinds = " or ".join({int: "an integer", float: "a number", str: "a string", type(None): "null"}[o] for o in options)
    raise FieldError(field, f"must be {kinds}, got {value!r}")


def _digest(modality: Modality, params) -> str:
    canonical = json.dumps({"modality": modality.name, "params": asdict(params)}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def _output(template, modality: Modality, job_id: str, params, position: int) -> str:
    if template is None:
        return f"{modality.name}/{job_id}{modality.suffix}"
    if not isinstance(template, str) or not template.strip():
        raise FieldError("output", f"must be a relative file path, got {template!r}")
    try:
        text = template.format(id=job_id, seed=getattr(params, "seed", ""), index=position)
    except (KeyError, IndexError, ValueError) as err:
        raise FieldError("output", f"{template!r} has a bad placeholder ({err}); accepted: "
                                   f"{', '.join('{' + f + '}' for f in OUTPUT_FIELDS)}") from None
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts or "\\" in text:
        raise FieldError("output", f"{text!r} escapes the output folder; give a path inside it such as "
                                   f"'{modality.name}/{job_id}{modality.suffix}'")
    if path.suffix.lower() != modality.suffix:
        raise FieldError("output", f"{text!r}: {modality.name} jobs write {modality.suffix} files")
    return str(path)


def _clashes(jobs: list[Job], out: Path) -> list[str]:
    """Duplicate ids, two jobs writing one file, outputs on batch files or leaving ``out`` through a link."""
    problems = []
    first_by_id: dict[str, Job] = {}
    first_by_output: dict[str, Job] = {}
    root = out.resolve()
    for job in jobs:
        if job.id in first_by_id:
            problems.append(f"duplicate job id {job.id!r}: {first_by_id[job.id].source} and {job.source} "
                            "(ids must be unique: give one of them another id)")
        first_by_id.setdefault(job.id, job)
        key = job.output.lower()  # case-insensitive file systems would merge these
        if key in first_by_output:
            other = first_by_output[key]
            problems.append(f"jobs {other.id!r} ({other.source}) and {job.id!r} ({job.source}) both write "
                            f"{job.output!r}; use '{{id}}' in output")
        first_by_output.setdefault(key, job)
        if job.output in RESERVED_OUTPUTS or ("/" not in job.output and job.output.startswith(REPORT_PREFIX)):
            problems.append(f"{job.source}, field 'output': {job.output!r} is kept for the batch's own files "
                            f"({', '.join(RESERVED_OUTPUTS)}, {REPORT_PREFIX}* at the top); pick another name")
        elif not (out / job.output).resolve().is_relative_to(root):
            problems.append(f"{job.source}, field 'output': {job.output!r} leaves the output folder {out} "
                            "through a symbolic link")
    return problems

"""meshd.toml for tests and the demo: the packaged default config (packaging/meshd.toml) with
a few keys overridden, written as text so that the file keeps its comments and reads like the
one an operator would start from.

    text = meshd_toml.render(open("packaging/meshd.toml").read(),
                             {"admin": {"socket": "/tmp/x/admin.sock"}, "capture": {"mode": "ebpf"}})

An overridden key replaces its line in its table (a commented-out `# key = ...` line stays as
the documentation it is); a key the table does not have is added under the table's header; a
table the file does not have is appended. The result is parsed back with tomllib and every
override is checked (Python 3.11+), so a merge that TOML reads differently fails here.
"""
import json
import re

try:
    import tomllib  # Python 3.11+
except ImportError:  # older Pythons: meshd --check-config still validates the file
    tomllib = None


def value(v):
    """A Python value as a TOML literal (str, bool, int, float, or a list of them)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def _table_span(lines, table):
    """(header index, end index) of [table] in lines, or None."""
    header = f"[{table}]"
    for i, line in enumerate(lines):
        if line.strip() == header:
            end = i + 1
            while end < len(lines) and not lines[end].lstrip().startswith("["):
                end += 1
            return i, end
    return None


def render(text, overrides):
    """`text` (a meshd.toml) with `overrides` ({table: {key: value}}) applied."""
    lines = text.splitlines()
    for table, keys in overrides.items():
        span = _table_span(lines, table)
        if span is None:
            lines += ["", f"[{table}]"] + [f"{k} = {value(v)}" for k, v in keys.items()]
            continue
        start, end = span
        for k, v in keys.items():
            new = f"{k} = {value(v)}"
            key_line = re.compile(rf"^\s*{re.escape(k)}\s*=")
            hit = next((i for i in range(start + 1, end) if key_line.match(lines[i])), None)
            if hit is None:
                lines.insert(start + 1, new)
                end += 1
            else:
                lines[hit] = new
    out = "\n".join(lines) + "\n"
    if tomllib is None:
        return out
    parsed = tomllib.loads(out)
    for table, keys in overrides.items():
        for k, v in keys.items():
            got = parsed.get(table, {}).get(k)
            if got != (list(v) if isinstance(v, tuple) else v):
                raise ValueError(f"meshd.toml merge: [{table}] {k} reads back as {got!r}, not {v!r}")
    return out


def merged(*layers):
    """Deep merge of {table: {key: value}} layers, later ones winning."""
    out = {}
    for layer in layers:
        for table, keys in (layer or {}).items():
            out.setdefault(table, {}).update(keys)
    return out

"""Write docs/tools.md from the tool specs themselves, so the reference never drifts from the code.

Run: .venv/bin/python scripts/tool_reference.py
"""

from __future__ import annotations

from pathlib import Path

from lstmabar.tools import all_tools

OUT = Path(__file__).resolve().parents[1] / "docs" / "tools.md"


def _type(schema: dict) -> str:
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(map(str, schema["enum"]))
    return str(schema.get("type", "any"))


def main() -> None:
    lines = ["# Tool reference", "", "Generated from the tool specs by `scripts/tool_reference.py`.", ""]
    for spec in all_tools():
        a = spec.annotations
        hints = [f"{h}={'yes' if on else 'no'}" for h, on in (("read-only", a.read_only_hint), ("idempotent", a.idempotent_hint),
                                 ("destructive", a.destructive_hint), ("open-world", a.open_world_hint))]
        lines += [f"## `{spec.name}` — {spec.title}", "", spec.description, ""]
        lines += [f"Annotations: {', '.join(hints)}. Long-running (progress, cancellable): {'yes' if spec.long_running else 'no'}.", ""]
        schema = spec.input_model.model_json_schema()
        required = set(schema.get("required", []))
        lines += ["| argument | type | default | description |", "|---|---|---|---|"]
        for name, prop in schema.get("properties", {}).items():
            default = "required" if name in required else f"`{prop.get('default')!r}`"
            desc = (prop.get("description") or "").replace("|", "/").replace("\n", " ")
            lines.append(f"| `{name}` | {_type(prop)} | {default} | {desc} |")
        out_props = ", ".join(f"`{k}`" for k in spec.output_model.model_json_schema().get("properties", {}))
        lines += ["", f"Structured output fields: {out_props}.", ""]
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

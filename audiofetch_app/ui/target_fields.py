"""The fields of a storage target, drawn from the kinds `core.targets` knows (folder, S3, ...).

The window names no kind itself: a new kind of target appears here with its own fields.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from audiofetch_app.core import targets


class TargetFields:
    """A toggle between the kinds, and the chosen kind's fields; `spec()` reads them back.

    Markers: `{mark}-type` on the toggle, `{mark}-{kind}-{field}` on each field (underscores
    as hyphens), so tests and people find them the same way for every kind.
    """

    def __init__(self, spec: dict[str, Any], *, default_folder: str, mark: str,
                 editing: bool = False) -> None:
        self.old = dict(spec or {})
        current = self.old.get("type", targets.DEFAULT)
        self.kind = ui.toggle({k.NAME: k.LABEL for k in targets.kinds()}, value=current,
                              on_change=self._changed).props("no-caps dense") \
            .mark(f"{mark}-type")
        self.boxes: dict[str, ui.column] = {}
        self.inputs: dict[tuple[str, str], ui.input] = {}
        for kind in targets.kinds():
            with ui.column().classes("w-full gap-1") as box:
                for name, label, secret in kind.FIELDS:
                    chosen = current == kind.NAME
                    value = str(self.old.get(name) or "") if chosen and not secret else ""
                    if name == "path" and not value:
                        value = default_folder
                    field = ui.input(label, value=value, password=secret,
                                     password_toggle_button=secret,
                                     placeholder="unchanged" if secret and editing else "") \
                        .classes("w-full").mark(f"{mark}-{kind.NAME}-{name.replace('_', '-')}")
                    self.inputs[(kind.NAME, name)] = field
            self.boxes[kind.NAME] = box
        self._changed()

    def set_spec(self, spec: dict[str, Any], *, default_folder: str) -> None:
        """Show `spec` (a saved one: secrets stay blank)."""
        self.old = dict(spec or {})
        current = self.old.get("type", targets.DEFAULT)
        self.kind.set_value(current)
        for (kind, name), field in self.inputs.items():
            secret = field.props.get("type") == "password"
            value = str(self.old.get(name) or "") if kind == current and not secret else ""
            field.set_value(value or (default_folder if name == "path" else ""))
        self._changed()

    def path_field(self) -> ui.input:
        """The folder kind's path field (a native folder picker fills it)."""
        return self.inputs[(targets.DEFAULT, "path")]

    def _changed(self, *_: Any) -> None:
        for name, box in self.boxes.items():
            box.set_visibility(name == self.kind.value)

    def spec(self) -> dict[str, Any]:
        """The spec as entered (not yet checked: `targets.check_spec` does that). What the
        saved spec holds beyond the form (the name of a stored secret) is kept."""
        kind = targets.find(self.kind.value)
        spec = dict(self.old) if self.old.get("type", targets.DEFAULT) == kind.NAME else {}
        spec["type"] = kind.NAME
        for name, _label, _secret in kind.FIELDS:
            value = (self.inputs[(kind.NAME, name)].value or "").strip()
            if value:
                spec[name] = value
            else:
                spec.pop(name, None)
        return spec

"""The window shown instead of the app when the database is damaged: what happened, and a
button that puts the last good copy back."""

from __future__ import annotations

from nicegui import ui

from audiofetch_app.core.store import DamagedStore, StoreError, restore_good_copy


def build(damage: DamagedStore) -> None:
    """One card: the sentence, and the restore (when a good copy exists)."""
    ui.page_title("AudioFetch")
    with ui.card().classes("w-full max-w-xl mx-auto q-mt-lg").mark("recovery"):
        ui.label("AudioFetch could not start").classes("text-h6")
        ui.label(str(damage)).classes("text-negative").mark("recovery-damage")
        result = ui.label().mark("recovery-result")
        if damage.good_copy is None:
            result.set_text(f"There is no earlier good copy. Move {damage.path.name} out of "
                            f"{damage.path.parent} to start with an empty history.")
            return

        def restore() -> None:
            try:
                kept = restore_good_copy(damage.path)
            except (StoreError, OSError) as exc:
                result.set_text(f"Could not restore it: {exc}")
                return
            button.disable()
            result.set_text(f"Restored. The damaged file is kept as {kept.name}. Close this "
                            "window and start AudioFetch again.")

        ui.label("AudioFetch keeps the last copy that read cleanly. Putting it back loses "
                 "only what changed since it was made.").classes("text-grey-8")
        button = ui.button("Restore the good copy", icon="restore",
                           on_click=restore).mark("recovery-restore")

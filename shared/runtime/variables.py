"""The `CONVENE_*` variables no setting reads: a misspelt one changes nothing, so it is
named."""

import difflib

from shared.runtime.settings import Settings


def unknown_variables(environ: dict[str, str]) -> list[str]:
    """The `CONVENE_*` variables no setting reads (a misspelt one changes nothing), each with
    the setting it may have meant."""
    known = {
        (
            info.validation_alias if isinstance(info.validation_alias, str) else f"CONVENE_{name}"
        ).upper()
        for name, info in Settings.model_fields.items()
    }
    said = []
    for variable in sorted(v for v in environ if v.upper().startswith("CONVENE_")):
        if variable.upper() in known:
            continue
        close = difflib.get_close_matches(variable.upper(), sorted(known), n=1)
        said.append(f"{variable} (did you mean {close[0]}?)" if close else variable)
    return said

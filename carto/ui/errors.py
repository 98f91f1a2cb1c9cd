"""What a person sees when a page fails: a French message, never a traceback.

A traceback shows server paths and pieces of data. ``[client] showErrorDetails =
"none"`` (.streamlit/config.toml) keeps Streamlit from sending any detail, and
``install()`` routes every uncaught exception of the session's script runs (app.py, a
page, a widget callback, a fragment) to ``show_french_message``: the catalogue's French
message with a short reference on screen, the traceback in the server log under that
reference for the technical team.

Streamlit calls the handler set on the run's context (the ``on_script_error`` hook that
``st.App`` exposes); ``streamlit run`` offers no option for it, so ``install()`` sets it
on each run, from app.py and from ``data.settings()``, which every page calls first:
Streamlit runs a page without app.py on the first run of a process (and under AppTest).
``st.stop()`` and ``st.rerun()`` are not errors and never reach the handler.
"""

from __future__ import annotations

import logging
import secrets
from typing import NoReturn

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from carto.i18n import t

log = logging.getLogger("carto.pages")


def show_french_message(exc: Exception) -> bool:
    """Log ``exc`` with its traceback and a reference; show the French message with that
    reference. Returns True: Streamlit shows nothing else."""
    reference = secrets.token_hex(4)
    log.error("Unexpected error in a page (reference %s)", reference, exc_info=exc)
    st.error(t("error.unexpected", reference=reference), icon=":material/error:")
    return True


def stop_on_config_error(exc: Exception, path: object) -> NoReturn:
    """A broken configuration: what is wrong and where to the server log, whose reader
    can fix it; to whoever opened the page, a French message without either (paths,
    setting names and parser details are not for a visitor who has not signed in)."""
    log.error(
        "CartoCampement: the configuration %s is invalid, fix it and reload the page: %s",
        path,
        exc,
    )
    st.error(t("error.config"), icon=":material/settings_alert:")
    st.stop()
    raise AssertionError("unreachable: st.stop() raises")


def install() -> None:
    """Make ``show_french_message`` handle the uncaught exceptions of this script run."""
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.on_script_error is not show_french_message:
        ctx.on_script_error = show_french_message

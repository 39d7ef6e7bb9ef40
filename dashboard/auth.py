"""Optional sign-in for teams, with Streamlit's OIDC ``st.login`` (docs/dashboard.md).

Off unless the ``dashboard_auth`` setting (``BUZZ_DASHBOARD_AUTH``) is true, and never asked of
a browser on the same machine: a dashboard bound to 127.0.0.1 (the default) can only be
reached from there, and a developer on localhost should not need an identity provider.
The provider itself is configured in ``.streamlit/secrets.toml`` under ``[auth]``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from pipeline.settings import Settings

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def auth_enabled(conf: Settings) -> bool:
    return conf.dashboard_auth


def is_local(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    return host in LOCAL_HOSTS


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return False


def require_sign_in(conf: Settings) -> None:
    """Stop the run with a sign-in screen unless sign-in is off, local, or done."""
    if not auth_enabled(conf) or is_local(st.context.url):
        return
    if not _auth_configured():
        st.error(
            "Sign-in is switched on (BUZZ_DASHBOARD_AUTH) but no identity provider is set up.",
            icon=":material/lock:",
        )
        st.info("Add an `[auth]` section to `.streamlit/secrets.toml`: see docs/dashboard.md.")
        st.stop()
    if not st.user.is_logged_in:
        st.title("Campaign buzz")
        st.write("Sign in with your campaign account to see the dashboard.")
        st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:")
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {st.user.get('email') or st.user.get('name') or 'you'}")
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")


def actor() -> str:
    """Who is acting, for the alert log: the signed-in email, else 'dashboard'."""
    try:
        if st.user.is_logged_in:
            return str(st.user.get("email") or st.user.get("name") or "dashboard")
    except (AttributeError, KeyError):
        pass
    return "dashboard"

"""Deployment settings (lock-down of a public app) and the access gate.

Every setting is defined once here, with its default, and read from the environment first, then
from Streamlit secrets (``.streamlit/secrets.toml``, root-level key of the same name). ``docs/
DEPLOYMENT.md`` documents them; ``tests/dashboard/test_settings.py`` checks that it names each one.

* ``PATHGPTOMIC_PUBLIC=1`` is the public-demo switch: it turns the Train page off unless
  ``PATHGPTOMIC_TRAIN_PAGE`` says otherwise.
* ``PATHGPTOMIC_PASSWORD`` (optional) asks every session for a password, compared in constant
  time (:func:`hmac.compare_digest`).
* ``PATHGPTOMIC_LOGIN`` (optional) requires Streamlit's OIDC login (``st.login``, configured by the
  ``[auth]`` secrets section), restricted to ``PATHGPTOMIC_ALLOWED_EMAILS`` when set.
* ``PATHGPTOMIC_MAX_ACTIVE_JOBS`` caps queued + running jobs for the whole deployment (checked
  atomically by the job store); ``PATHGPTOMIC_SESSION_LAUNCHES`` per
  ``PATHGPTOMIC_SESSION_WINDOW_S`` seconds caps launches per browser session.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

import streamlit as st

from pathgptomic.errors import ConfigError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Setting:
    """One deployment setting.

    Attributes:
        name: Environment variable and Streamlit secret key.
        default: Value used when neither is set (text, parsed like a set value).
        help: What it does (one line, for error messages and the docs test).
    """

    name: str
    default: str
    help: str


PUBLIC = Setting("PATHGPTOMIC_PUBLIC", "0", "public demo: Train page off unless PATHGPTOMIC_TRAIN_PAGE=1")
TRAIN_PAGE = Setting("PATHGPTOMIC_TRAIN_PAGE", "", "1/0: show the Train page (empty: on, off when public)")
PASSWORD = Setting("PATHGPTOMIC_PASSWORD", "", "password every session must enter (empty: none)")
LOGIN = Setting("PATHGPTOMIC_LOGIN", "0", "1 or a provider name: require st.login (OIDC, [auth] secrets)")
ALLOWED_EMAILS = Setting("PATHGPTOMIC_ALLOWED_EMAILS", "", "comma-separated e-mails or @domains allowed after OIDC login (empty: any)")
MAX_ACTIVE_JOBS = Setting("PATHGPTOMIC_MAX_ACTIVE_JOBS", "4", "queued + running jobs allowed at once (0: none)")
SESSION_LAUNCHES = Setting("PATHGPTOMIC_SESSION_LAUNCHES", "3", "job launches per session per window")
SESSION_WINDOW_S = Setting("PATHGPTOMIC_SESSION_WINDOW_S", "3600", "rate-limit window in seconds")

#: Every setting, in documentation order.
SETTINGS: tuple[Setting, ...] = (PUBLIC, TRAIN_PAGE, PASSWORD, LOGIN, ALLOWED_EMAILS, MAX_ACTIVE_JOBS, SESSION_LAUNCHES, SESSION_WINDOW_S)

#: Session-state keys.
_ACCESS_KEY = "access.granted"
_LAUNCHES_KEY = "train.launch_times"


# ----------------------------------------------------------------------------- reading values


def _secret_value(name: str) -> object | None:
    """The root-level Streamlit secret ``name``, or None (no secrets file or no such key)."""
    try:
        if not st.secrets.load_if_toml_exists():
            return None
        return st.secrets.get(name)
    except (FileNotFoundError, OSError, ValueError):
        return None


def _secret(name: str) -> str | None:
    """Secret ``name`` as text (None when absent or a section)."""
    value = _secret_value(name)
    return None if value is None or hasattr(value, "keys") else str(value)


def _secret_section(name: str) -> dict | None:
    """The Streamlit secrets section ``[name]`` as a dict, or None."""
    value = _secret_value(name)
    return dict(value) if hasattr(value, "keys") else None


def raw(setting: Setting) -> str:
    """The text of ``setting``: the environment first, then Streamlit secrets, else its default."""
    env = os.environ.get(setting.name)
    if env is not None:
        return env.strip()
    secret = _secret(setting.name)
    return setting.default if secret is None else secret.strip()


def flag(setting: Setting) -> bool:
    """``setting`` read as on/off.

    Raises:
        ConfigError: The value is not one of 1/0, true/false, yes/no, on/off.
    """
    text = raw(setting).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{setting.name}={text!r} is not on/off; write 1 or 0 ({setting.help})")


def integer(setting: Setting, minimum: int = 0) -> int:
    """``setting`` read as a whole number >= ``minimum``.

    Raises:
        ConfigError: Not a whole number, or below ``minimum``.
    """
    text = raw(setting)
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{setting.name}={text!r} is not a whole number ({setting.help})") from None
    if value < minimum:
        raise ConfigError(f"{setting.name}={value} is below {minimum} ({setting.help})")
    return value


def is_public() -> bool:
    """True for the public demo (``PATHGPTOMIC_PUBLIC=1``)."""
    return flag(PUBLIC)


def train_page_enabled() -> bool:
    """Whether the Train page is offered: ``PATHGPTOMIC_TRAIN_PAGE`` when set, else not :func:`is_public`."""
    if raw(TRAIN_PAGE) == "":
        return not is_public()
    return flag(TRAIN_PAGE)


def max_active_jobs() -> int:
    """Most queued + running jobs the deployment accepts (0 refuses every launch)."""
    return integer(MAX_ACTIVE_JOBS, minimum=0)


def login_provider() -> str | None:
    """None when OIDC login is off; ``""`` for the default ``[auth]`` provider; else the provider name."""
    text = raw(LOGIN)
    if text.lower() in _FALSE:
        return None
    return "" if text.lower() in _TRUE else text


def allowed_emails() -> tuple[str, ...]:
    """Lower-case e-mails and ``@domain`` entries allowed after login (empty: anyone who logs in)."""
    return tuple(e.strip().lower() for e in raw(ALLOWED_EMAILS).split(",") if e.strip())


def check_all() -> None:
    """Parse every setting once, so a typo stops the app at start instead of on first use.

    Raises:
        ConfigError: The first setting whose value cannot be read, naming it.
    """
    train_page_enabled()
    max_active_jobs()
    integer(SESSION_LAUNCHES, minimum=0)
    integer(SESSION_WINDOW_S, minimum=1)
    login_provider()
    allowed_emails()


# ----------------------------------------------------------------------------- per-session launch limit


def launch_wait(times: list[float], now: float, limit: int, window_s: float) -> float:
    """Seconds until another launch is allowed (0.0: allowed now).

    Args:
        times: Unix times of this session's earlier launches.
        now: The current Unix time.
        limit: Launches allowed per window (0 refuses every launch: ``inf``).
        window_s: Window length in seconds.
    """
    if limit <= 0:
        return float("inf")
    recent = sorted(t for t in times if now - t < window_s)
    if len(recent) < limit:
        return 0.0
    return recent[-limit] + window_s - now


def check_launch_rate(now: float) -> None:
    """Refuse a launch over this session's rate limit.

    Raises:
        ConfigError: The session launched ``PATHGPTOMIC_SESSION_LAUNCHES`` jobs in the last window.
    """
    limit = integer(SESSION_LAUNCHES, minimum=0)
    window = integer(SESSION_WINDOW_S, minimum=1)
    wait = launch_wait(st.session_state.get(_LAUNCHES_KEY, []), now, limit, window)
    if wait == float("inf"):
        raise ConfigError("job launches are switched off on this deployment (PATHGPTOMIC_SESSION_LAUNCHES=0)")
    if wait > 0:
        raise ConfigError(
            f"this session launched {limit} jobs in the last {window} s, the limit of this deployment; try again in {wait / 60:.0f} min"
        )


def record_launch(now: float) -> None:
    """Remember a launch for :func:`check_launch_rate`."""
    window = integer(SESSION_WINDOW_S, minimum=1)
    kept = [t for t in st.session_state.get(_LAUNCHES_KEY, []) if now - t < window]
    st.session_state[_LAUNCHES_KEY] = [*kept, now]


# ----------------------------------------------------------------------------- access gate


def _fingerprint(secret: str) -> str:
    """What the session keeps after a correct password (never the password itself)."""
    return hashlib.sha256(b"pathgptomic-access\0" + secret.encode()).hexdigest()


def password_matches(entered: str, password: str) -> bool:
    """Constant-time comparison of the entered and the configured password."""
    return hmac.compare_digest(entered.encode("utf-8"), password.encode("utf-8"))


def _password_gate(password: str) -> bool:
    """Ask for the password until the session gives it; True once granted."""
    if hmac.compare_digest(st.session_state.get(_ACCESS_KEY, ""), _fingerprint(password)):
        return True
    st.title("Path-GPTomic")
    with st.form("access.form"):
        entered = st.text_input("Password", type="password", key="access.password")
        submitted = st.form_submit_button("Enter", type="primary")
    if submitted:
        st.session_state.pop("access.password", None)
        if password_matches(entered, password):
            st.session_state[_ACCESS_KEY] = _fingerprint(password)
            st.rerun()
        st.error("Wrong password. Ask the person who runs this app for it.")
    return False


def email_allowed(email: str, allowed: tuple[str, ...]) -> bool:
    """True when ``allowed`` is empty, lists ``email``, or lists ``@<its domain>``."""
    if not allowed:
        return True
    email = email.strip().lower()
    domain = "@" + email.rsplit("@", 1)[-1] if "@" in email else None
    return email in allowed or (domain is not None and domain in allowed)


def _authlib_installed() -> bool:
    """``st.login`` needs Authlib (``pip install "streamlit[auth]"``)."""
    import importlib.util

    return importlib.util.find_spec("authlib") is not None


def _auth_problem(provider: str) -> str | None:
    """Why ``st.login`` cannot work on this server (for the operator), or None."""
    section = _secret_section("auth")
    if section is None:
        return "PATHGPTOMIC_LOGIN is on but .streamlit/secrets.toml has no [auth] section; add one (docs/DEPLOYMENT.md)"
    if provider and not hasattr(section.get(provider), "keys"):
        return f"PATHGPTOMIC_LOGIN names the provider {provider!r} but secrets.toml has no [auth.{provider}] section"
    if not _authlib_installed():
        return 'PATHGPTOMIC_LOGIN is on but Authlib is not installed; pip install "streamlit[auth]"'
    return None


def _login_gate(provider: str) -> bool:
    """Require Streamlit's OIDC login (and an allowed e-mail); True once logged in."""
    user = st.user
    if not bool(user.get("is_logged_in", False)):
        st.title("Path-GPTomic")
        problem = _auth_problem(provider)
        if problem:
            st.error(f"The app is misconfigured: {problem}.")
            return False
        st.info("Log in to use this app.")
        if st.button("Log in", type="primary", key="access.login"):
            st.login(provider or None)
        return False
    if not email_allowed(str(user.get("email") or ""), allowed_emails()):
        st.error("This account is not allowed on this app. Log out and use an allowed account.")
        st.button("Log out", key="access.logout_refused", on_click=st.logout)
        return False
    with st.sidebar:
        st.button("Log out", key="access.logout", on_click=st.logout, icon=":material/logout:")
    return True


def require_access() -> None:
    """Stop the script run unless the session passed every configured gate (password, OIDC login).

    Fails closed: an unreadable setting stops the app with a message for the operator.
    """
    try:
        check_all()
        password, provider = raw(PASSWORD), login_provider()
    except ConfigError as exc:
        st.error(f"The app is misconfigured: {exc}.")
        st.stop()
    if provider is not None and not _login_gate(provider):
        st.stop()
    if password and not _password_gate(password):
        st.stop()

"""TLS to PostgreSQL from the URL's libpq settings (`sslmode`, `sslrootcert`, `sslcert`,
`sslkey`), as an operator writes them for any PostgreSQL client.

SQLAlchemy hands a URL's query to asyncpg as keywords, and asyncpg takes these only in a
DSN of its own; so they are taken out of the URL and made into the `ssl` asyncpg expects:
`verify-full` checks the server's certificate against `sslrootcert` (else the system's
authorities) and its host name; `verify-ca` the certificate only; `require`, `prefer` and
`allow` encrypt without checking; `disable` does not encrypt. A client certificate is
`sslcert` with `sslkey`."""

import ssl
import weakref
from typing import Any

from sqlalchemy.engine import make_url

LIBPQ = ("sslmode", "sslrootcert", "sslcert", "sslkey")
MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

TlsArgument = ssl.SSLContext | str | bool | None

_BY_ENGINE: "weakref.WeakKeyDictionary[Any, TlsArgument]" = weakref.WeakKeyDictionary()


def split(url: str) -> tuple[str, TlsArgument]:
    """The URL without its libpq TLS settings, and what asyncpg's `ssl` is to be (None:
    asyncpg's own default)."""
    parsed = make_url(url)
    query = dict(parsed.query)
    settings = {name: query.pop(name, None) for name in LIBPQ}
    clean = parsed.set(query=query).render_as_string(hide_password=False)
    mode = settings["sslmode"]
    if mode is None:
        return clean, None
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"sslmode {mode!r} is not one of {', '.join(MODES)}")
    if mode == "disable":
        return clean, False
    if mode in ("allow", "prefer", "require"):
        return clean, mode
    context = ssl.create_default_context(cafile=_one(settings["sslrootcert"]))
    context.check_hostname = mode == "verify-full"
    certificate = _one(settings["sslcert"])
    if certificate:
        context.load_cert_chain(certificate, _one(settings["sslkey"]))
    return clean, context


def _one(value: Any) -> str | None:
    found = value[0] if isinstance(value, tuple) else value
    return None if found is None else str(found)


def remember(engine: Any, argument: TlsArgument) -> None:
    """Keep what an engine connects with, for the connections made beside its pool."""
    _BY_ENGINE[engine] = argument


def for_engine(engine: Any) -> TlsArgument:
    """What an engine's connections use for TLS (None: asyncpg's default)."""
    return _BY_ENGINE.get(engine)


def verified(url: str) -> bool:
    """True when a PostgreSQL URL asks for `sslmode=verify-full`."""
    return make_url(url).query.get("sslmode") == "verify-full"

"""Cookies and sessions on loopback: stores, signed cookies, a tiny browser.

* :class:`SessionStore`: server-side sessions, a dict keyed by a random id.
* :func:`sign` / :func:`unsign` / :func:`peek`: a session kept *in* the
  cookie, signed with HMAC-SHA256 the way Flask's ``itsdangerous`` does it
  (``payload.timestamp.signature``).  Signed is not encrypted: :func:`peek`
  reads the payload without the key.
* :class:`SessionApp`: a WSGI site with server-side sessions (cookie ``sid``),
  optionally accepting the id in the URL (``?sid=``) for clients without
  cookies, and optionally rotating the id at login (the fix for session
  fixation).  :class:`SignedSessionApp`: the same site with a signed cookie.
* :class:`MiniBrowser`: ``urllib`` + ``http.cookiejar``, sending ``Referer``
  like a browser under a chosen referrer policy; :class:`RefererLog` is a
  "third-party" server that records the ``Referer`` it receives.
* :func:`jar_receive` / :func:`jar_sends`: run ``http.cookiejar``'s policy
  offline (no network) for any URL, to study ``Domain``, ``Path``,
  ``Secure`` and expiry.
* :func:`samesite_sends`: the browser rule for ``SameSite``, as a table.
"""
from __future__ import annotations

import base64
import email.message
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from http import cookiejar
from http.cookies import SimpleCookie

# ------------------------------------------------------- server-side store


class SessionStore:
    """Server-side sessions: session id -> dict of data (thread-safe).

    Ids come from :func:`secrets.token_urlsafe` (128 bits by default), so
    they cannot be guessed; only the id travels to the client.
    """

    def __init__(self, id_bytes: int = 16):
        self.id_bytes = id_bytes
        self._data: dict[str, dict] = {}
        self._lock = threading.Lock()

    def new(self, data: dict | None = None) -> str:
        sid = secrets.token_urlsafe(self.id_bytes)
        with self._lock:
            self._data[sid] = dict(data or {})
        return sid

    def get(self, sid: str | None) -> dict | None:
        """A copy of the session's data, or ``None`` for an unknown id."""
        with self._lock:
            data = self._data.get(sid) if sid else None
            return dict(data) if data is not None else None

    def save(self, sid: str, data: dict) -> None:
        with self._lock:
            self._data[sid] = dict(data)

    def rotate(self, sid: str) -> str:
        """Give the session a fresh id (keeping its data); the old id stops working."""
        with self._lock:
            data = self._data.pop(sid, {})
            new = secrets.token_urlsafe(self.id_bytes)
            self._data[new] = data
        return new

    def delete(self, sid: str) -> None:
        with self._lock:
            self._data.pop(sid, None)

    def __contains__(self, sid) -> bool:
        with self._lock:
            return sid in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

# ------------------------------------------------------------ signed cookies


class BadSignature(ValueError):
    """The token was not produced with this secret, or was altered."""


class SignatureExpired(BadSignature):
    """The signature is valid but older than ``max_age``."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, message: str) -> str:
    return _b64(hmac.new(secret, message.encode("ascii"), hashlib.sha256).digest())


def _dump_payload(data: dict) -> str:
    """JSON, zlib-compressed when that is shorter (then marked by a leading "."), base64url.

    This is what itsdangerous's ``URLSafeSerializerMixin.dump_payload`` does for
    Flask's session cookie: the payload is compressed when compression saves
    more than a byte, and a "." in front tells the reader to decompress.
    """
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    packed = zlib.compress(raw)
    if len(packed) < len(raw) - 1:
        return "." + _b64(packed)
    return _b64(raw)


def _load_payload(payload: str) -> dict:
    if payload.startswith("."):
        return json.loads(zlib.decompress(_unb64(payload[1:])))
    return json.loads(_unb64(payload))


def sign(data: dict, secret: bytes, timestamp: int | None = None) -> str:
    """Serialize ``data`` (JSON, compressed if shorter) and sign it: ``payload.timestamp.signature``.

    Like itsdangerous, a compressed payload starts with "." (so the token has four
    dot-separated parts, the first empty).
    """
    payload = _dump_payload(data)
    stamp = _b64(int(time.time() if timestamp is None else timestamp).to_bytes(5, "big"))
    return f"{payload}.{stamp}.{_mac(secret, payload + '.' + stamp)}"


def _split(token: str) -> tuple[str, str, str]:
    try:
        payload, stamp, mac = token.rsplit(".", 2)
    except ValueError:
        raise BadSignature("not a signed token") from None
    return payload, stamp, mac


def unsign(token: str, secret: bytes, max_age: float | None = None, now: float | None = None) -> dict:
    """Check the signature (in constant time) and the age; return the data."""
    payload, stamp, mac = _split(token)
    if not hmac.compare_digest(mac, _mac(secret, payload + "." + stamp)):
        raise BadSignature("signature does not match")
    age = (time.time() if now is None else now) - int.from_bytes(_unb64(stamp), "big")
    if max_age is not None and age > max_age:
        raise SignatureExpired(f"signature is {age:.0f} s old (max {max_age} s)")
    return _load_payload(payload)


def peek(token: str) -> dict:
    """What anybody holding the cookie can read: the payload, no key needed (decompressed if need be)."""
    return _load_payload(_split(token)[0])

# ------------------------------------------------------------ cookie helpers


def cookie_header_value(environ, name: str) -> str | None:
    """The value of cookie ``name`` in the request's ``Cookie`` header (via http.cookies)."""
    jar = SimpleCookie()
    try:
        jar.load(environ.get("HTTP_COOKIE", ""))
    except Exception:  # noqa: BLE001 - a malformed Cookie header means "no cookie"
        return None
    return jar[name].value if name in jar else None


def set_cookie(name: str, value: str, **attrs) -> str:
    """The value of a ``Set-Cookie`` header, built by :class:`http.cookies.SimpleCookie`.

    ``attrs`` use Python names: ``path``, ``domain``, ``max_age``, ``expires``,
    ``secure``, ``httponly``, ``samesite``.
    """
    c = SimpleCookie()
    c[name] = value
    for k, v in attrs.items():
        c[name][k.replace("_", "-")] = v
    return c[name].OutputString()

# ------------------------------------------------------------ the WSGI sites


def _page(start_response, text: str, headers=(), status: str = "200 OK"):
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Length", str(len(body)))] + list(headers))
    return [body]


class SessionApp:
    """A site with server-side sessions.

    Routes: ``/`` greets the session's user and counts visits; ``/login?user=NAME``
    logs in (a real site would check a password, by POST); ``/logout``.

    * ``rotate_on_login``: issue a new session id at login (the fixation fix).
    * ``sid_in_url``: also accept the id as ``?sid=`` and write it into the
      page's links, for clients that refuse cookies (URL rewriting).
    * ``tracker``: an URL of a third-party image the page embeds.

    ``access_log`` lists every request line with its query string, as a web
    server's access log would.
    """

    def __init__(self, store: SessionStore | None = None, rotate_on_login: bool = True,
                 sid_in_url: bool = False, tracker: str | None = None, cookie_attrs=None):
        self.store = store or SessionStore()
        self.rotate_on_login, self.sid_in_url, self.tracker = rotate_on_login, sid_in_url, tracker
        self.cookie_attrs = {"path": "/", "httponly": True, "samesite": "Lax"} if cookie_attrs is None else cookie_attrs
        self.access_log: list[str] = []

    def __call__(self, environ, start_response):
        path, query = environ.get("PATH_INFO", "/"), environ.get("QUERY_STRING", "")
        self.access_log.append(f"{environ['REQUEST_METHOD']} {path}{'?' + query if query else ''}")
        params = urllib.parse.parse_qs(query)
        sid = cookie_header_value(environ, "sid")
        if sid is None and self.sid_in_url:
            sid = params.get("sid", [None])[0]
        data = self.store.get(sid)
        if data is None:  # unknown or missing id: start a fresh, anonymous session
            sid = self.store.new({"user": None, "visits": 0})
            data = self.store.get(sid)
        if path == "/login":
            if self.rotate_on_login:
                sid = self.store.rotate(sid)
            data["user"] = params.get("user", ["?"])[0]
        elif path == "/logout":
            self.store.delete(sid)
            sid, data = self.store.new({"user": None, "visits": 0}), {"user": None, "visits": 0}
        data["visits"] += 1
        self.store.save(sid, data)
        link = f"/?sid={sid}" if self.sid_in_url else "/"
        img = f'<img src="{html.escape(self.tracker)}">' if self.tracker else ""
        text = (f"<p>hello {html.escape(data['user'] or 'anonymous')}, visit {data['visits']}</p>"
                f'<a href="{link}">home</a>{img}')
        return _page(start_response, text, [("Set-Cookie", set_cookie("sid", sid, **self.cookie_attrs))])


class SignedSessionApp:
    """The same site, with the whole session in a signed cookie ``session`` (Flask's way)."""

    def __init__(self, secret: bytes, max_age: float | None = None):
        self.secret, self.max_age = secret, max_age

    def __call__(self, environ, start_response):
        token = cookie_header_value(environ, "session")
        try:
            data = unsign(token, self.secret, self.max_age) if token else {}
        except BadSignature:
            data = {}  # forged, altered or expired: start over
        params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        if environ.get("PATH_INFO") == "/login":
            data["user"] = params.get("user", ["?"])[0]
        data["visits"] = data.get("visits", 0) + 1
        text = f"<p>hello {html.escape(data.get('user') or 'anonymous')}, visit {data['visits']}</p>"
        cookie = set_cookie("session", sign(data, self.secret), path="/", httponly=True, samesite="Lax")
        return _page(start_response, text, [("Set-Cookie", cookie)])


class RefererLog:
    """A WSGI app standing in for another server: it records each request's
    ``Referer`` header in ``seen`` and its ``Cookie`` header in ``cookies``
    (``None`` when absent), and answers with an empty image."""

    def __init__(self):
        self.seen: list[str | None] = []
        self.cookies: list[str | None] = []

    def __call__(self, environ, start_response):
        self.seen.append(environ.get("HTTP_REFERER"))
        self.cookies.append(environ.get("HTTP_COOKIE"))
        start_response("200 OK", [("Content-Type", "image/gif"), ("Content-Length", "0")])
        return [b""]

# --------------------------------------------------------------- the client


def referrer_for(page_url: str, target_url: str, policy: str) -> str | None:
    """The ``Referer`` a browser sends to ``target_url`` from ``page_url``.

    Two policies of the W3C Referrer Policy spec: ``"strict-origin-when-cross-origin"``
    (browsers' default since 2020-2021: the full URL to the same origin, only
    the origin elsewhere) and ``"unsafe-url"`` (always the full URL, which is
    what older defaults amounted to for http pages).
    """
    page, target = urllib.parse.urlsplit(page_url), urllib.parse.urlsplit(target_url)
    full = urllib.parse.urlunsplit((page.scheme, page.netloc, page.path, page.query, ""))
    if policy == "unsafe-url":
        return full
    if policy == "strict-origin-when-cross-origin":
        if (page.scheme, page.netloc) == (target.scheme, target.netloc):
            return full
        if page.scheme == "https" and target.scheme == "http":
            return None
        return f"{page.scheme}://{page.netloc}/"
    raise ValueError(f"unknown policy {policy!r}")


class MiniBrowser:
    """A cookie-keeping HTTP client: ``http.cookiejar`` + ``urllib``.

    ``get(url)`` returns ``(status, body text)``; ``load(url)`` also fetches
    the page's ``<img src>`` resources, sending ``Referer`` per ``policy``.
    ``cookies=False`` is a browser with cookies disabled.
    """

    def __init__(self, cookies: bool = True, policy: str = "strict-origin-when-cross-origin",
                 timeout: float = 5.0):
        self.jar = cookiejar.CookieJar() if cookies else None
        handlers = [urllib.request.HTTPCookieProcessor(self.jar)] if cookies else []
        self.opener = urllib.request.build_opener(*handlers)
        self.policy, self.timeout = policy, timeout

    def get(self, url: str, referer: str | None = None) -> tuple[int, str]:
        req = urllib.request.Request(url, headers={"Referer": referer} if referer else {})
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")

    def load(self, url: str) -> tuple[int, str]:
        status, body = self.get(url)
        from .net import find_resources
        for src in find_resources(body):
            target = urllib.parse.urljoin(url, src)
            self.get(target, referer=referrer_for(url, target, self.policy))
        return status, body

    def cookie(self, name: str) -> str | None:
        """The value this browser holds for cookie ``name`` (any domain), or ``None``."""
        for c in self.jar or ():
            if c.name == name:
                return c.value
        return None

    def set_cookie(self, name: str, value: str, host: str = "127.0.0.1") -> None:
        """Plant a cookie in the jar, as an attacker who can set cookies would."""
        self.jar.set_cookie(cookiejar.Cookie(0, name, value, None, False, host, False, False, "/",
                                             True, False, None, False, None, None, {}))

def greeting(html_text: str) -> str:
    """The ``hello <user>, visit <n>`` line of the demo sites' pages."""
    m = re.search(r"hello [^<]*", html_text)
    return m.group() if m else ""


def links(html_text: str) -> list[str]:
    """The ``href`` of every ``<a>`` in a page, in order (what a user could click)."""
    return re.findall(r'<a[^>]*\shref="([^"]*)"', html_text)

# ------------------------------------------------ cookiejar policy, offline


class _FakeResponse:
    def __init__(self, set_cookies):
        self._msg = email.message.Message()
        for value in set_cookies:
            self._msg["Set-Cookie"] = value

    def info(self):
        return self._msg


def jar_receive(jar: cookiejar.CookieJar, url: str, *set_cookies: str) -> None:
    """Let ``jar`` process ``Set-Cookie`` headers as if ``url`` had sent them (no network)."""
    jar.extract_cookies(_FakeResponse(set_cookies), urllib.request.Request(url))


def jar_sends(jar: cookiejar.CookieJar, url: str) -> str | None:
    """The ``Cookie`` header ``jar`` would attach to a request for ``url`` (no network)."""
    req = urllib.request.Request(url)
    jar.add_cookie_header(req)
    return req.get_header("Cookie")

# -------------------------------------------------------------- SameSite


def samesite_sends(samesite: str | None, cross_site: bool, top_level_navigation: bool,
                   method: str = "GET") -> bool:
    """Does a browser attach a cookie with this ``SameSite`` value to a request?

    The rule of RFC 6265bis (draft), "The SameSite Attribute": ``Strict`` only same-site;
    ``Lax`` also cross-site top-level navigations with a safe method (GET);
    ``None`` always (and browsers require ``Secure`` with it).  A missing
    attribute is treated as ``Lax`` by Chromium-based browsers.
    """
    mode = (samesite or "Lax").capitalize()
    if not cross_site or mode == "None":
        return True
    if mode == "Lax":
        return top_level_navigation and method.upper() in ("GET", "HEAD", "OPTIONS", "TRACE")
    return False

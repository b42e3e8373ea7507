"""Tests for conclab.sessions: stores, signed cookies, cookie policy, the session sites."""
from http import cookiejar

import pytest

from conclab import sessions as S
from conclab import wsgi_demo as W

pytestmark = pytest.mark.timeout(60)


def test_store_rotate_moves_data_and_kills_old_id():
    store = S.SessionStore()
    sid = store.new({"user": "alice"})
    new = store.rotate(sid)
    assert new != sid and sid not in store and store.get(new) == {"user": "alice"}


def test_store_get_returns_a_copy():
    store = S.SessionStore()
    sid = store.new({"n": 1})
    store.get(sid)["n"] = 99
    assert store.get(sid) == {"n": 1}


def test_sign_unsign_peek():
    token = S.sign({"user": "alice"}, b"k")
    assert S.unsign(token, b"k") == {"user": "alice"} == S.peek(token)
    with pytest.raises(S.BadSignature):
        S.unsign(token, b"other key")
    payload, stamp, mac = token.split(".")
    forged = S._b64(b'{"user":"admin"}') + "." + stamp + "." + mac
    with pytest.raises(S.BadSignature):
        S.unsign(forged, b"k")


def test_a_payload_that_compresses_well_is_compressed_like_itsdangerous():
    import base64
    import zlib

    data = {"user": "alice", "cart": ["apple"] * 30}
    token = S.sign(data, b"k")
    assert token.startswith("."), "a leading dot marks a zlib-compressed payload"
    payload = token.rsplit(".", 2)[0][1:]
    assert b"alice" not in base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert S.peek(token) == data == S.unsign(token, b"k")
    assert b"alice" in zlib.decompress(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert not S.sign({"u": 1}, b"k").startswith("."), "short payloads stay plain"


def test_signature_expiry():
    token = S.sign({}, b"k", timestamp=1000)
    assert S.unsign(token, b"k", max_age=10, now=1005) == {}
    with pytest.raises(S.SignatureExpired):
        S.unsign(token, b"k", max_age=10, now=1011)


def test_set_cookie_attributes():
    header = S.set_cookie("sid", "abc", path="/", httponly=True, secure=True, samesite="Strict", max_age=60)
    for part in ("sid=abc", "Path=/", "HttpOnly", "Secure", "SameSite=Strict", "Max-Age=60"):
        assert part in header


def test_jar_domain_path_secure_and_deletion():
    jar = cookiejar.CookieJar()
    S.jar_receive(jar, "http://www.example.com/", "host=1; Path=/", "wide=2; Domain=example.com; Path=/",
                  "adm=3; Path=/admin", "sec=4; Path=/; Secure")
    assert S.jar_sends(jar, "http://api.example.com/") == "wide=2"
    assert "adm=3" in S.jar_sends(jar, "http://www.example.com/admin/x")
    assert "adm=3" not in S.jar_sends(jar, "http://www.example.com/")
    assert "sec=4" not in S.jar_sends(jar, "http://www.example.com/")
    assert "sec=4" in S.jar_sends(jar, "https://www.example.com/")
    assert S.jar_sends(jar, "http://example.org/") is None
    S.jar_receive(jar, "http://www.example.com/", "host=1; Path=/; Max-Age=0")
    assert "host=" not in S.jar_sends(jar, "http://www.example.com/")


def test_samesite_table():
    assert S.samesite_sends("Strict", cross_site=True, top_level_navigation=True) is False
    assert S.samesite_sends("Lax", cross_site=True, top_level_navigation=True) is True
    assert S.samesite_sends("Lax", cross_site=True, top_level_navigation=True, method="POST") is False
    assert S.samesite_sends("Lax", cross_site=True, top_level_navigation=False) is False
    assert S.samesite_sends("None", cross_site=True, top_level_navigation=False) is True
    assert S.samesite_sends("Strict", cross_site=False, top_level_navigation=False) is True


def test_referrer_policies():
    page, other = "http://127.0.0.1:1/a?sid=X", "http://127.0.0.1:2/p.gif"
    assert S.referrer_for(page, other, "unsafe-url") == page
    assert S.referrer_for(page, other, "strict-origin-when-cross-origin") == "http://127.0.0.1:1/"
    assert S.referrer_for(page, "http://127.0.0.1:1/b", "strict-origin-when-cross-origin") == page


def test_links():
    assert S.links('<a href="/x">x</a><p><a class="c" href="/y?sid=1">') == ["/x", "/y?sid=1"]


@pytest.mark.parametrize("rotate", [False, True])
def test_session_fixation_attack_and_fix(rotate):
    app = S.SessionApp(sid_in_url=True, rotate_on_login=rotate)
    with W.serve_wsgiref(app, threaded=True) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        attacker, victim = S.MiniBrowser(), S.MiniBrowser()
        attacker.get(base + "/")
        planted = attacker.cookie("sid")
        victim.get(f"{base}/?sid={planted}")
        victim.get(base + "/login?user=alice")
        _, page = attacker.get(base + "/")
        if rotate:
            assert victim.cookie("sid") != planted and "hello anonymous" in page
        else:
            assert victim.cookie("sid") == planted and "hello alice" in page


def test_url_session_leaks_by_referer_and_sharing():
    tracker = S.RefererLog()
    app = S.SessionApp(sid_in_url=True)
    with W.serve_wsgiref(app, threaded=True) as server, W.serve_wsgiref(tracker) as t:
        app.tracker = f"http://127.0.0.1:{t.server_port}/p.gif"
        base = f"http://127.0.0.1:{server.server_port}"
        for policy in ("unsafe-url", "strict-origin-when-cross-origin"):
            b = S.MiniBrowser(cookies=False, policy=policy)
            _, page = b.get(base + "/login?user=alice")
            b.load(base + S.links(page)[0])
        assert "sid=" in tracker.seen[0] and "sid=" not in tracker.seen[1]
        other = S.MiniBrowser(cookies=False)
        assert "hello alice" in other.get(base + S.links(page)[0])[1]
        assert any("sid=" in line for line in app.access_log)


def test_cookies_are_not_isolated_by_port():
    tracker = S.RefererLog()
    app = S.SessionApp()
    with W.serve_wsgiref(app) as server, W.serve_wsgiref(tracker) as t:
        app.tracker = f"http://127.0.0.1:{t.server_port}/p.gif"
        b = S.MiniBrowser()
        b.load(f"http://127.0.0.1:{server.server_port}/")
        assert tracker.cookies[-1] == "sid=" + b.cookie("sid")


def test_signed_session_app_survives_tampering():
    app = S.SignedSessionApp(b"secret")
    with W.serve_wsgiref(app) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        b = S.MiniBrowser()
        b.get(base + "/login?user=alice")
        assert S.peek(b.cookie("session"))["user"] == "alice"
        payload, stamp, mac = b.cookie("session").split(".")
        b.set_cookie("session", S._b64(b'{"user":"admin","visits":1}') + f".{stamp}.{mac}")
        assert "hello anonymous" in b.get(base + "/")[1]


def test_greeting_extracts_the_line():
    assert S.greeting("<p>hello alice, visit 3</p><a href='/'>") == "hello alice, visit 3"
    assert S.greeting("<p>nothing</p>") == ""

"""ps4_web_server: a different correct server, and the common mistakes it must catch.

The alternative (alternative_server.py) is another design throughout: a state-machine
parser, a thread per connection with a semaphore of `threads` around the app, workers
stopped by SIGTERM, a session dict that records its changes.  Each mistake is a small
edit of the reference (read from the source notebook: a selector thread and a pool of
app threads, workers told to stop through a pipe), so each one differs from a correct
server in exactly one idea, and loses the test cells of the rules it breaks (the map:
rules.py).
"""
from pathlib import Path

from grading import Case, mutate, read
from tools.assignments import writefile_module

HERE = Path(__file__).parent
REF = writefile_module("ps4_web_server", "webserver.py")
ALT = read(HERE / "alternative_server.py")


def server(text: str) -> dict:
    return {"webserver_solution": "%%writefile webserver.py\n" + text}


def cells(*names: str) -> frozenset:
    return frozenset(f"test_part_{name}" for name in names)


def wrong(name: str, loses: frozenset, why: str, *edits: tuple[str, str], base: str = REF) -> Case:
    return Case(name, server(mutate(base, *edits)), loses, why)


CASES = [
    Case("alternative", server(ALT), frozenset(),
         "a state-machine parser, a thread per connection with a semaphore around the app, workers stopped by "
         "SIGTERM, a session that records its changes: a different design that must earn full marks"),

    Case("app_failure_reported_late",
         server(mutate(REF, ("            except Exception:\n                keep = False\n",
                             "            except Exception as exc:\n                keep = False\n"
                             "                if not isinstance(exc, OSError):  # the app's, not the connection's\n"
                             "                    report = traceback.format_exc()  # written a moment later, as a log queue would\n"
                             "                    threading.Timer(0.5, lambda: sys.stderr.write(report)).start()\n"),
                        ("import time\n", "import time\nimport traceback\n"))),
         frozenset(),
         "the reference, reporting an app's failure on stderr half a second after it closed the connection: "
         "C2 does not judge what the server writes to stderr then, whenever it writes it"),

    # --- Part A: parsing ------------------------------------------------------------------
    wrong("header_names_lowercased", cells("a_requests", "a_pieces", "a_chunked"),
          "header names are lower-cased instead of kept as sent",
          ('            headers.append((name, value.strip(" \\t")))',
           '            headers.append((name.lower(), value.strip(" \\t")))')),
    wrong("values_not_stripped", cells("a_requests", "a_pieces", "a_chunked"),
          "header values keep the spaces after the colon",
          ('            headers.append((name, value.strip(" \\t")))', "            headers.append((name, value))")),
    wrong("one_request_per_feed", cells("a_pieces", "a_chunked", "c_keepalive"),
          "feed returns at most one request: a second pipelined request waits for more bytes",
          ("            del self._buffer[:used]\n            done.append(request)",
           "            del self._buffer[:used]\n            return [request]")),
    wrong("chunk_extensions_refused", cells("a_chunked"),
          "a chunk extension after ';' makes the chunk size unreadable (400)",
          ('            size = bytes(buf[pos:eol]).split(b";")[0].strip()', "            size = bytes(buf[pos:eol]).strip()")),
    wrong("no_trailers", cells("a_chunked"),
          "the last chunk must be followed by an empty line at once: trailer lines are taken for the next request",
          ("            if eol == pos:\n                request.body = bytes(body)\n                return request, eol + 2\n"
           "            pos = eol + 2",
           "            request.body = bytes(body)\n            return request, pos + 2")),
    wrong("unknown_coding_ignored", cells("a_errors", "c_serve"),
          "a transfer coding other than chunked is ignored (the request has no body) instead of 501",
          ("            if codings != [\"chunked\"]:\n                raise HTTPError(501, f\"transfer coding {', '.join(codings)}\")\n"
           "            return self._chunked(request, end + 4)",
           "            if codings == [\"chunked\"]:\n                return self._chunked(request, end + 4)")),
    wrong("loose_request_line", cells("a_errors"),
          "the request line is split on any run of whitespace: double spaces and trailing words pass",
          ('        parts = lines[0].split(" ")', "        parts = lines[0].split(None, 2)")),
    wrong("header_limit_at_the_end", cells("a_errors"),
          "431 is raised only once the end of the headers has come: a client can make the parser buffer without limit",
          ("        if end < 0 and len(buf) > self.max_header_bytes or end + 4 > self.max_header_bytes:",
           "        if end >= 0 and end + 4 > self.max_header_bytes:")),
    wrong("body_limit_after_the_body", cells("a_errors", "c_serve"),
          "413 is raised only once the whole body has come",
          ("        if size > self.max_body_bytes:\n            raise HTTPError(413)\n"
           "        if len(buf) < end + 4 + size:\n            return None\n",
           "        if len(buf) < end + 4 + size:\n            return None\n"
           "        if size > self.max_body_bytes:\n            raise HTTPError(413)\n")),

    # --- Part B: the WSGI contract --------------------------------------------------------------
    wrong("path_not_decoded", cells("b_environ"),
          "PATH_INFO is the target's path as sent, still percent-encoded",
          ('        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),', '        "PATH_INFO": path,')),
    wrong("path_decoded_as_utf8", cells("b_environ"),
          "PATH_INFO is percent-decoded as UTF-8 instead of latin-1",
          ('        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),',
           '        "PATH_INFO": unquote_to_bytes(path).decode("utf-8", "replace"),')),
    wrong("content_length_from_header", cells("b_environ"),
          "CONTENT_LENGTH is the Content-Length header ('' without one): a chunked body cannot be read",
          ('        "CONTENT_LENGTH": str(len(request.body)),', '        "CONTENT_LENGTH": request.header("Content-Length", ""),')),
    wrong("repeated_header_overwrites", cells("b_environ"),
          "a header sent twice keeps only its last value",
          ('            environ[key] = environ[key] + "," + value if key in environ else value',
           "            environ[key] = value")),
    wrong("content_type_twin", cells("b_environ"),
          "Content-Type and Content-Length also get HTTP_ keys",
          ('        if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):\n            environ[key]',
           "        if True:\n            environ[key]")),
    wrong("body_drained_first", cells("b_start_response", "b_errors", "b_close"),
          "run_app reads the whole body before it returns: the headers count as sent too late",
          ("    return status, headers, _body(first, stream, result)",
           "    rest = list(stream)\n    _close(result)\n    return status, headers, (p for p in [first, *rest] if p)")),
    wrong("write_ignored", cells("b_start_response"),
          "data given to write() is dropped",
          ("        return written.append", "        return lambda data: None")),
    wrong("no_500", cells("b_errors", "b_close"),
          "an app that fails before its body makes run_app raise instead of answering 500 (and its result is not closed)",
          ("    except Exception:\n        _close(result)\n", "    except ZeroDivisionError:\n        _close(result)\n")),
    wrong("exc_info_always_replaces", cells("b_errors"),
          "start_response with exc_info replaces the headers even after they were sent",
          ("                if state[\"sent\"]:\n                    raise exc_info[1].with_traceback(exc_info[2])",
           "                pass")),
    wrong("start_response_twice_allowed", cells("b_errors"),
          "a second start_response without exc_info replaces the headers silently",
          ("        elif state[\"response\"] is not None:\n"
           "            raise AssertionError(\"start_response was called twice without exc_info\")\n", "")),
    wrong("close_only_when_exhausted", cells("b_close"),
          "the result's close() is called only when the body was iterated to its end",
          ("    try:\n        if first:\n            yield first\n        yield from stream\n    finally:\n        _close(result)",
           "    if first:\n        yield first\n    yield from stream\n    _close(result)")),
    wrong("no_close_on_500", cells("b_close"),
          "when run_app answers 500, the failed result is not closed",
          ("    except Exception:\n        _close(result)\n", "    except Exception:\n")),

    # --- Part C: the server -------------------------------------------------------------------
    wrong("no_argument_check", cells("c_serve"),
          "workers=0 or threads=0 are accepted",
          ("        if workers < 1 or threads < 1:\n            raise ValueError(\"workers and threads must be at least 1\")\n", "")),
    wrong("no_chunked_encoding", cells("c_serve"),
          "a body without Content-Length is sent as it is, with no chunked encoding: the client cannot find its end",
          ("        chunked = not head and not any(", "        chunked = False and not any(")),
    wrong("head_gets_a_body", cells("c_serve"),
          "a HEAD request gets the body too",
          ('        head = request.method == "HEAD"', "        head = False")),
    wrong("refused_without_response", cells("c_serve"),
          "a request the parser refuses gets no response: the connection is just closed",
          ('                    conn.sock.sendall(head.encode("latin-1"))\n', "")),
    wrong("no_keep_alive", cells("c_keepalive", "c_slow", "d_replace"),
          "the server closes every connection after one response",
          ('        keep = request.version == "HTTP/1.1" and "close" not in tokens and not self.stopping',
           "        keep = False")),
    wrong("connection_close_ignored", cells("c_keepalive"),
          "Connection: close is not honoured: the connection stays open",
          ('        keep = request.version == "HTTP/1.1" and "close" not in tokens and not self.stopping',
           '        keep = request.version == "HTTP/1.1" and not self.stopping')),
    wrong("idle_connections_hold_threads", cells("c_slow", "c_shutdown", "d_shutdown"),
          "a thread of the pool reads each connection until it closes: a slow client or an idle one holds a thread "
          "(and shutdown, which closes the connections the selector watches, leaves those open, in a worker too)",
          ("            with self.handing:\n                if keep and not self.stopping:\n"
           "                    conn.sock.setblocking(False)\n                    self.back.put(conn)\n"
           "                    try:\n                        self.back_w.send(b\"!\")\n"
           "                    except BlockingIOError:\n                        pass  # the loop has wake-ups enough to read\n"
           "                    continue\n            conn.sock.close()",
           "            while keep and not self.stopping:  # wait for this connection's next requests here\n"
           "                try:\n                    data = conn.sock.recv(65536)\n                    requests = conn.parser.feed(data) if data else None\n"
           "                except (OSError, HTTPError):\n                    requests = None\n"
           "                if requests is None:\n                    break\n"
           "                for request in requests:\n                    keep = self._respond(conn, request)\n"
           "                    if not keep:\n                        break\n"
           "            conn.sock.close()")),
    wrong("one_app_thread", cells("c_threads"),
          "one thread runs the app, whatever threads says",
          ('for i in range(threads)]', 'for i in range(1)]')),
    wrong("threads_ignored", cells("c_threads"),
          "the pool has 16 threads whatever threads says: threads=2 does not limit how many run the app at once",
          ('for i in range(threads)]', 'for i in range(16)]')),
    wrong("shutdown_drops_requests_in_flight", cells("c_shutdown", "d_shutdown"),
          "shutdown closes every connection at once, also those whose request is running (in a worker too)",
          ("        for _ in self.workers:\n            self.jobs.put(None)\n        for worker in self.workers:\n"
           "            worker.join(max(0.0, deadline() - time.monotonic()))\n",
           "        for _ in self.workers:\n            self.jobs.put(None)\n        for conn in list(self._busy):\n"
           "            conn.sock.close()\n        for worker in self.workers:\n"
           "            worker.join(max(0.0, deadline() - time.monotonic()))\n"),
          ("            conn, requests = job\n            conn.sock.setblocking(True)\n",
           "            conn, requests = job\n            self._busy.add(conn)\n            conn.sock.setblocking(True)\n"),
          ("        self.stopping = False\n", "        self.stopping = False\n        self._busy = set()\n")),
    wrong("idle_connections_left_open", cells("c_shutdown"),
          "shutdown leaves idle keep-alive connections open",
          ("        for key in list(sel.get_map().values()):\n            if isinstance(key.data, _Conn):\n"
           "                key.data.sock.close()\n", "")),
    wrong("shutdown_waits_for_the_app", cells("c_shutdown"),
          "shutdown waits for every request to finish, however long it takes",
          ("            worker.join(max(0.0, deadline() - time.monotonic()))", "            worker.join()"),
          ("            self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)", "            self._finished.wait()")),

    # --- Part D: worker processes -----------------------------------------------------------
    wrong("workers_ignored", cells("d_workers", "d_replace", "d_shutdown"),
          "workers=N serves from the notebook's process all the same",
          ("            if self.workers == 1:", "            if True:")),
    wrong("worker_defined_inside", cells("d_workers", "d_replace"),
          "the worker's function is defined inside a method: spawn and forkserver cannot pickle it (D3 tests by fork)",
          ("        process = self._ctx.Process(target=_worker_main, args=(self.app, self._listener, self.threads, reader),",
           "        def main(*args):\n            _worker_main(*args)\n"
           "        process = self._ctx.Process(target=main, args=(self.app, self._listener, self.threads, reader),")),
    wrong("multiprocess_flag_false", cells("d_workers"),
          "wsgi.multiprocess stays False in the workers",
          ("        environ[\"wsgi.multiprocess\"] = self.multiprocess\n", "")),
    wrong("dead_workers_not_replaced", cells("d_replace", "d_shutdown"),
          "a worker that dies is reaped but not replaced",
          ("                    writer.close()\n                    self._start_worker()", "                    writer.close()")),
    wrong("workers_not_joined", cells("d_shutdown"),
          "shutdown stops the workers but never joins them: they stay zombies",
          ("            process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))",
           "            multiprocessing.connection.wait([process.sentinel], max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))"),
          ("            if process.exitcode is None:\n                process.kill()",
           "            if not multiprocessing.connection.wait([process.sentinel], 0):\n                os.kill(process.pid, signal.SIGKILL)"),
          ("            process.join()  # killed: it ends at once\n", ""),
          ("            return [p.pid for p, _ in self._procs.values() if p.exitcode is None]",
           "            return [p.pid for p, _ in self._procs.values() if not multiprocessing.connection.wait([p.sentinel], 0)]")),
    wrong("busy_workers_not_stopped", cells("d_shutdown"),
          "shutdown waits for each worker, and each worker for its requests, however long they take",
          ("                deadline.append(time.monotonic() + control.recv())",
           "                deadline.append(time.monotonic() + 3600 + 0 * control.recv())  # let every request finish"),
          ("            process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))", "            process.join()"),
          ("            self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)", "            self._finished.wait()")),

    # --- Part E: sessions -----------------------------------------------------------------------
    wrong("session_not_saved", cells("e_session", "e_signature", "e_rotate"),
          "the cookie always carries the session as it was loaded, not as the app left it",
          ('        saved = {"id": environ["session.id"], "t": time.time(), "data": environ["session"]}',
           '        saved = {"id": environ["session.id"], "t": time.time(), "data": {}}')),
    wrong("cookie_name_ignored", cells("e_session"),
          "the cookie is always called 'session'",
          ('        return f"{self.cookie}={payload}.{self._sign(payload)}{attributes}"',
           '        return f"session={payload}.{self._sign(payload)}{attributes}"'),
          ("            if name != self.cookie:", '            if name != "session":')),
    wrong("plain_equality", cells("e_signature"),
          "signatures are compared with ==, which stops at the first difference (a timing leak)",
          ("            if not hmac.compare_digest(mac.encode(), self._sign(payload).encode()):",
           "            if mac != self._sign(payload):")),
    wrong("sha1_signature", cells("e_signature"),
          "the signature is HMAC-SHA1",
          ("        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()",
           "        return hmac.new(self.secret, payload.encode(), hashlib.sha1).hexdigest()")),
    wrong("no_expiry", cells("e_signature"),
          "cookies never expire: max_age is only the cookie's attribute",
          ('            if time.time() - saved["t"] <= self.max_age:', "            if True:")),
    wrong("garbage_cookie_crashes", cells("e_signature"),
          "a cookie without a '.' raises ValueError instead of being ignored",
          ('            payload, _, mac = value.rpartition(".")', '            payload, mac = value.rsplit(".", 1)')),
    wrong("cookie_on_every_response", cells("e_cookie"),
          "every response sets the cookie, also when the session did not change",
          ("            if (environ[\"session.id\"], json.dumps(environ[\"session\"], sort_keys=True)) != before:",
           "            if True:")),
    wrong("no_httponly", cells("e_cookie"),
          "the cookie has no HttpOnly: scripts in the page can read it",
          ('        attributes = f"; Max-Age={self.max_age}; Path=/; HttpOnly; SameSite=Lax"',
           '        attributes = f"; Max-Age={self.max_age}; Path=/; SameSite=Lax"')),
    wrong("never_secure", cells("e_cookie"),
          "Secure is never set, not even on https",
          ('        if environ.get("wsgi.url_scheme") == "https":\n            attributes += "; Secure"\n', "")),
    wrong("rotate_does_nothing", cells("e_rotate"),
          "rotate keeps the session's id",
          ('        environ["session.id"] = secrets.token_urlsafe(16)\n\n    def _sign',
           '        environ["session.id"] = environ["session.id"]\n\n    def _sign')),
    wrong("short_random_ids", cells("e_rotate"),
          "session ids are random.getrandbits(64) in decimal: at most 20 characters, from a predictable generator",
          ('        return secrets.token_urlsafe(16), {}', "        return str(random.getrandbits(64)), {}"),
          ("import re\n", "import random\nimport re\n")),
]

PARTIAL = "no_trailers"

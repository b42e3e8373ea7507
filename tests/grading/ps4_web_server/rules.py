"""ps4_web_server: the rules its release text states, the test cells that check them,
and the mistakes (in __init__.py) that prove each check bites."""
from grading import Rule


def cells(*names):
    return tuple(f"test_part_{n}" for n in names)


RULES = [
    Rule('A1', (
              '`RequestParser().feed(data)` returns the list of the requests that `data` completes, each a '
              '`webtools.Request`: `method`, `target` and `version` from the request line (`GET /a%20b?x=1 '
              'HTTP/1.1` gives `"GET"`, `"/a%20b?x=1"` and `"HTTP/1.1"`: the target is not decoded); `headers`, a '
              'list of `(name, value)` tuples, one per header line, in the order they came, names as sent, values '
              'without the spaces and tabs around them; `body`, the `Content-Length` bytes that follow the headers '
              '(`b""` when there is neither `Content-Length` nor `Transfer-Encoding`). Text is decoded as latin-1. '
              'Lines end with CRLF (`\\r\\n`).'),
         cells('a_requests'),
         'request lines, headers (names as sent, values stripped, in order, repeated, latin-1) and Content-Length bodies, one call each',
         ('header_names_lowercased', 'values_not_stripped',)),
    Rule('A2', (
              'Bytes may come in pieces of any size: one byte at a time, a request cut anywhere, or several '
              'pipelined requests in one piece. `feed` keeps what it has not used for the next call, returns `[]` '
              'until a request is complete, returns each request in the call that completes it, and returns them in'
              ' the order they were sent: the result does not depend on how the bytes were cut.'),
         cells('a_pieces'),
         'two pipelined requests whole and byte by byte, random pipelined requests cut at random places (hypothesis), cuts inside CRLF: the same requests, each from the call that completes it',
         ('one_request_per_feed',)),
    Rule('A3', (
              'With `Transfer-Encoding: chunked` the body is the concatenation of the chunks: each chunk is a size '
              'in hexadecimal (upper or lower case; a chunk extension after `;` is ignored), CRLF, that many bytes,'
              ' CRLF; the chunk of size 0 ends the body, and the trailer lines after it, up to an empty line, are '
              "read and ignored. The request's `headers` stay as sent."),
         cells('a_chunked'),
         'chunked bodies with upper and lower case sizes, extensions, trailers, CRLF inside a chunk, a chunk of 300 bytes, a request pipelined after one, an unfinished trailer section',
         ('chunk_extensions_refused', 'no_trailers',)),
    Rule('A4', (
              'Bad input raises `webtools.HTTPError(status)`, in the call of `feed` that receives the bad part: '
              '400 for a request line that is not three parts separated by single spaces (a method of token '
              'characters, a target, a version `HTTP/` digit `.` digit), a header line without a colon or whose '
              'name is not a token (a space before the colon, a line that starts with a space), a `Content-Length` '
              'that is not digits or has several different values, both `Content-Length` and `Transfer-Encoding` '
              'in one request, a chunk size that is not hexadecimal, or a chunk whose bytes are not followed by '
              'CRLF; 501 for a transfer coding other than `chunked` (`gzip`, or `gzip, chunked`). (Token '
              "characters are letters, digits and ``!#$%&'*+-.^_`|~``.)"),
         cells('a_errors'),
         '18 malformed request lines (an empty target too), header lines, lengths, framings and chunk sizes, and chunks not followed by CRLF, raise HTTPError(400) in the call that receives them; gzip, gzip, chunked, deflate and br raise 501; equal repeated lengths pass',
         ('unknown_coding_ignored', 'loose_request_line',)),
    Rule('A5', (
              "The limits are the constructor's arguments. 431 when the request line and the headers, with the "
              'CRLFs that end them, take more than `max_header_bytes` bytes, raised as soon as more than that has '
              'come without the end of the headers (a client cannot make the parser buffer without limit); 413 when'
              ' the body is longer than `max_body_bytes`, raised as soon as the length is known: a `Content-'
              'Length`, or the chunk sizes so far, before the body itself has come. Exactly at a limit is fine.'),
         cells('a_errors'),
         'header blocks of exactly and one byte over the default and a custom limit, 431 before the end of the headers but not at exactly the limit without it; 413 for Content-Length and chunk sizes before the body, bodies exactly at the limit pass',
         ('header_limit_at_the_end', 'body_limit_after_the_body',)),
    Rule('B1', (
              '`make_environ(request, client, server)` (`client` and `server` are `(host, port)` pairs) returns a '
              'dict with `REQUEST_METHOD`; `SCRIPT_NAME` `""`; `PATH_INFO`, the target\'s path (before any `?`) '
              'percent-decoded to bytes and read as latin-1 (`/caf%C3%A9` gives `"/caf\\xc3\\xa9"`, as PEP 3333 and '
              '`wsgiref` say); `QUERY_STRING`, what follows the first `?`, not decoded (`""` if none); '
              '`CONTENT_TYPE`, the `Content-Type` header\'s value (`""` if none); `CONTENT_LENGTH`, '
              '`str(len(request.body))` (a chunked body too); `SERVER_NAME` and `SERVER_PORT` (a str) from '
              "`server`; `SERVER_PROTOCOL`, the request's version; `REMOTE_ADDR`, the host of `client`."),
         cells('b_environ'),
         'every CGI key of two requests, percent-decoding as latin-1, the query not decoded, CONTENT_LENGTH of a chunked body read by an app',
         ('path_not_decoded', 'path_decoded_as_utf8', 'content_length_from_header',)),
    Rule('B2', (
              'Every other header becomes a key `HTTP_` + its name in upper case with `-` replaced by `_` '
              '(`X-Trace-Id` gives `HTTP_X_TRACE_ID`); a header sent several times gives one key, its values joined'
              ' with `,` in order; `Content-Type` and `Content-Length` get no `HTTP_` key. And the `wsgi.*` keys: '
              '`wsgi.version` `(1, 0)`, `wsgi.url_scheme` `"http"`, `wsgi.input` a binary file that holds the body,'
              ' `wsgi.errors` `sys.stderr`, `wsgi.multithread` `True`, `wsgi.multiprocess` `False`, `wsgi.run_once`'
              ' `False`. The tests check the environ with `wsgiref.validate` and run a Bottle app with it.'),
         cells('b_environ'),
         "HTTP_ keys (repeated headers joined, no twins of Content-Type/Length), every wsgi.* key, wsgiref.validate, a Bottle app's routes, form and JSON on the environs",
         ('repeated_header_overwrites', 'content_type_twin',)),
    Rule('B3', (
              '`run_app(app, environ)` calls the app and returns `(status, headers, chunks)`: the status and the '
              "header list the app gave `start_response`, and an iterator of the body's pieces (bytes; empty ones "
              'may be left out) that has a `close()` method (a generator has one). The headers count as sent when '
              "the app's first non-empty piece of body has come (or its body ended empty), and `run_app` returns "
              'then, not before and not after: until then the app may call `start_response` again with `exc_info` '
              'to replace them, and a generator app may call `start_response` in its first step. Data passed to the'
              " `write` callable that `start_response` returns is part of the body, in order, before what the app's"
              ' iterable yields after it.'),
         cells('b_start_response'),
         "status, headers and body of a streaming app; a generator app's lazy start_response; headers replaced with exc_info before the first piece; run_app returns after the first non-empty piece; write() data in order",
         ('body_drained_first', 'write_ignored',)),
    Rule('B4', (
              'If the app raises, or returns without calling `start_response`, before its first non-empty piece of '
              'body, `run_app` returns status `"500 Internal Server Error"`, headers that include a `Content-'
              'Length`, and a body of your choice; it does not raise. Calling `start_response` a second time '
              'without `exc_info` is such an error. Once the headers count as sent, `start_response(status, '
              'headers, exc_info)` raises `exc_info[1]` in the app; an exception the app raises while `chunks` is '
              'iterated reaches the caller of `next()`.'),
         cells('b_errors'),
         '500 with a Content-Length for an app that raises, never calls start_response, calls it twice, or fails before its first piece; exc_info after the first piece raises the same exception in the app; a mid-body error reaches next()',
         ('no_500', 'exc_info_always_replaces', 'start_response_twice_allowed', 'body_drained_first',)),
    Rule('B5', (
              "The `close()` method of the app's result, if it has one, is called exactly once whatever happens: "
              'when `chunks` is exhausted, when iterating it raises, when `chunks.close()` is called after its '
              'first piece was taken, and when `run_app` answers 500.'),
         cells('b_close'),
         'close() counted once after exhaustion, after an error while iterating, after chunks.close(), after a 500',
         ('close_only_when_exhausted', 'no_close_on_500',)),
    Rule('C1', (
              '`Server(app, host="127.0.0.1", port=0, *, workers=1, threads=8, start_method=None)` listens before '
              '`__init__` returns; `address` is the `(host, port)` it listens on (port 0 picks a free port). '
              '`serve_forever()` serves until `shutdown()` is called from another thread, then returns; `with '
              'Server(app) as server:` serves from a thread of its own during the block and calls `shutdown()` at '
              'its end. `workers` or `threads` below 1 raise `ValueError`.'),
         cells('c_serve'),
         'the default host and a free port, serve_forever until shutdown from another thread, threads=1 serves, ValueError for workers=0 and threads=0',
         ('no_argument_check',)),
    Rule('C2', (
              "A response is `HTTP/1.1 <status>`, the app's headers, then the body: as the app gave it when the "
              "app's headers have a `Content-Length`, else in chunked encoding (`Transfer-Encoding: chunked` "
              'added, each non-empty piece a chunk, then the `0` chunk). A `HEAD` request gets the status and '
              "headers with no body. A request that the parser refuses gets a response with the parser's status "
              '(400, 413, 431, 501) and `Connection: close`, and then the server closes the connection. An app '
              'that raises after its headers count as sent (B3) ends its response where it is: the server closes '
              'the connection (the tests do not judge what it writes to stderr then).'),
         cells('c_serve'),
         'Content-Length and chunked bodies on the wire (an empty piece too, and other headers without a Content-Length), HEAD without a body, 400/413/431/501 with Connection: close then EOF, EOF after an app fails mid-body, a Bottle site',
         ('no_chunked_encoding', 'head_gets_a_body', 'refused_without_response', 'unknown_coding_ignored', 'body_limit_after_the_body',)),
    Rule('C3', (
              'A connection stays open (HTTP/1.1 keep-alive) for any number of requests; requests may be pipelined '
              '(sent before the previous responses have come), and their responses come in the order of the '
              'requests. A request with `Connection: close` gets its response with `Connection: close`, and then '
              'the server closes the connection (requests pipelined after it are not answered). The tests send '
              'HTTP/1.1 requests only.'),
         cells('c_keepalive'),
         'requests one after another and pipelined (20 at once and byte by byte) on one connection in order, Connection: close in a pipeline, four clients pipelining at once with switching()',
         ('no_keep_alive', 'connection_close_ignored', 'one_request_per_feed',)),
    Rule('C4', (
              'No client holds up another: while one client sends its request one byte every 100 ms, and while 100 '
              'other connections stay open and idle (some never sent a byte, some are keep-alive connections that '
              "sent a request earlier), a new client's request is answered at once (the tests allow 2 s), and with "
              '`threads=2` too. The slow client is answered when its request is complete, and an idle keep-alive '
              'connection still works afterwards. A client that closes or resets its connection at any point, even '
              'in the middle of a request, stops nothing but its own connection.'),
         cells('c_slow'),
         'with threads=2, a fast request answered within 2 s while slow clients send a byte every 100 ms and 100 connections stay idle, and after clients reset their connection mid-request; the slow clients and idle keep-alive connections answered afterwards',
         ('idle_connections_hold_threads', 'no_keep_alive',)),
    Rule('C5', (
              'The app runs in up to `threads` threads at once per process: with `threads=4`, four requests whose '
              'app waits until all four are in it together all complete; with `threads=2`, never more than two '
              'requests are in the app at once.'),
         cells('c_threads'),
         'webtools.Crowd: four requests in the app together with threads=4; never more than two of six with threads=2',
         ('one_app_thread', 'threads_ignored',)),
    Rule('C6', (
              '`shutdown(timeout=5.0)` stops accepting (a new connection gets no response), lets each request whose'
              ' app is running finish and sends its response, closes idle keep-alive connections, and returns '
              'within `timeout` seconds, also when an app is still running then (that request may be abandoned). '
              '`serve_forever` returns by then too (the tests allow 1 s more). A second `shutdown()` does nothing; '
              '`shutdown()` of a server that never served closes its socket.'),
         cells('c_shutdown'),
         'webtools.Gate holds a request in flight: shutdown closes an idle connection, refuses new ones, delivers the response in flight, returns in time; shutdown(1.5) with a stuck app, serve_forever returns, a second shutdown, one before serving',
         ('shutdown_drops_requests_in_flight', 'idle_connections_left_open', 'shutdown_waits_for_the_app',)),
    Rule('D1', (
              "With `workers=N` greater than 1, `serve_forever` starts N worker processes with `multiprocessing`'s "
              "`start_method` (`None`: the platform's default) that share the listening socket, each serving with "
              "`threads` threads of its own. `pids` lists the live workers' pids: N of them while the server serves"
              " (the tests wait up to 15 s for them to start), never the notebook's own process, and `[]` when "
              '`workers=1`. Requests are answered by the workers, and in them `environ["wsgi.multiprocess"]` is '
              '`True`.'),
         cells('d_workers'),
         'two workers by fork, spawn and forkserver: pids, answers from them with wsgi.multiprocess True; workers=1 answers from the notebook with pids == []',
         ('workers_ignored', 'worker_defined_inside', 'multiprocess_flag_false',)),
    Rule('D2', (
              'A worker that dies (the tests kill one with `SIGKILL`) is replaced: within 15 s `pids` lists N live '
              'workers again, the dead one no longer among them, and requests are answered as before. A request in '
              'flight in another worker is not lost: it gets its response.'),
         cells('d_replace'),
         'a worker killed with SIGKILL (fork; spawn with a request in flight in the other worker, which gets its response) is replaced within 15 s',
         ('dead_workers_not_replaced', 'workers_ignored',)),
    Rule('D3', (
              '`shutdown(timeout)` stops every worker as C6 stops a server (each stops accepting, closes its idle '
              'keep-alive connections and finishes its requests in flight), and returns within `timeout`, killing '
              'the workers that are still busy then. When it returns, no worker process is left, not even as a '
              'zombie: the tests look at every pid that `pids` ever listed.'),
         cells('d_shutdown'),
         'no worker left, not even a zombie, after shutdown (replaced ones too); shutdown(2) while a worker sleeps 60 s returns within 2.5 s; shutdown(8) closes a worker\'s idle keep-alive connection and a request in flight 2.5 s more gets its response',
         ('workers_not_joined', 'busy_workers_not_stopped', 'shutdown_drops_requests_in_flight',)),
    Rule('E1', (
              '`SessionMiddleware(app, secret, *, max_age, cookie="session")` is a WSGI app. Before it calls '
              '`app`, it puts the request\'s session in `environ["session"]`, a dict (empty for a new session), and '
              'the session\'s identity in `environ["session.id"]`, a str. When the app has changed the session '
              '(set, changed or deleted a key) by the time it calls `start_response`, the middleware adds a '
              '`Set-Cookie` header for the cookie named `cookie`; a later request that sends that cookie back gets '
              'the same session. Only the cookie of that name carries the session: the same value sent under '
              'another name is ignored. Values are whatever `json` can store (the tests use str, int, float, bool, '
              'None, and lists and dicts of them).'),
         cells('e_session'),
         'a new session is an empty dict with a str id; set, changed and deleted keys of every JSON type come back; another cookie name; another browser; the session cookie sent under other names is ignored',
         ('session_not_saved', 'cookie_name_ignored',)),
    Rule('E2', (
              "The cookie's value is `<payload>.<signature>` (split at the last `.`): `payload` is any text you "
              'choose that carries the session, made of letters, digits and `-_=.` only; `signature` is the HMAC-'
              'SHA256 of `payload` (its UTF-8 bytes) with the key `secret`, in lower-case hex or URL-safe base64. '
              'The signatures are compared in constant time with `hmac.compare_digest` (the tests replace '
              '`hmac.compare_digest` for a moment to see that it is called: call it as `hmac.compare_digest(...)`).'),
         cells('e_signature'),
         "the value's characters, the signature recomputed as HMAC-SHA256 (hex or base64), hmac.compare_digest replaced and seen called",
         ('plain_equality', 'sha1_signature',)),
    Rule('E3', (
              'A cookie is valid for `max_age` seconds from when it was issued (read the clock with `time.time()`: '
              'the tests move it). A cookie that was changed in any way, is not of the form `payload.signature`, '
              'was signed with another secret, or has expired is ignored: the request gets a new empty session and '
              'the app runs as usual. It is never an error: no 500, nothing raised.'),
         cells('e_signature'),
         '14 changed, truncated, garbage and foreign cookies give an empty session and a 200; other cookies beside it; time.time() moved 590 and 610 s with max_age=600',
         ('no_expiry', 'garbage_cookie_crashes',)),
    Rule('E4', (
              'The `Set-Cookie` header has the attributes `Path=/`, `HttpOnly`, `SameSite=Lax`, `Max-'
              'Age=<max_age>`, and `Secure` exactly when `environ["wsgi.url_scheme"]` is `"https"`. A response '
              'whose session the app did not change has no `Set-Cookie` from the middleware.'),
         cells('e_cookie'),
         'Path, HttpOnly, SameSite=Lax, Max-Age; Secure on https only; no Set-Cookie for a new unchanged session or one only read, its keys in any order',
         ('cookie_on_every_response', 'no_httponly', 'never_secure',)),
    Rule('E5', (
              '`rotate(environ)` gives the current request\'s session a new identity: a new `environ["session.id"]`,'
              " made with `secrets` (at least 22 characters, like every new session's id), the data kept, and a "
              '`Set-Cookie` that carries it, so that later requests with the new cookie see the new id. Two new '
              'sessions never share an id, and a session keeps its id from request to request. (It is the defence '
              'against session fixation of lecture 04.04: call it when a user logs in. A signed cookie cannot be '
              'revoked without state on the server: the old cookie still opens the session with the old id.)'),
         cells('e_rotate'),
         'rotate gives a new id and keeps the data, sets a cookie even with unchanged data; 50 new ids distinct and 22+ characters; an id stays between requests',
         ('rotate_does_nothing', 'short_random_ids',)),
]

_EMPTY_LINES = ("differs only for bytes that begin with an empty line (CRLF CRLF): the text leaves empty lines before a "
                "request line open (What the tests do not try; RFC 9112 lets a server skip them)")
_SERVE_ENDS = ("shutdown()'s wait for serve_forever(): serve_forever() ends by the deadline itself (its joins are bounded "
               "by it, and it kills and reaps the workers still busy before it), so a longer wait, or an unbounded one, "
               "returns at the same moment")
_DAEMON = ("a worker process or an app thread that is not a daemon: it matters only when the process exits without "
           "shutdown(), which no rule covers; shutdown() kills a worker still busy at the deadline either way")
_ENDS_ITSELF = ("the supervisor waits for a busy worker until the deadline or later instead of killing it 0.8 s before: the "
                "worker stops on its own at the deadline (its loop stops then, its app threads are daemons), so it ends and "
                "is reaped a moment after the deadline, within the 1 s the tests allow; the kill is for a worker that cannot "
                "stop on its own, and the reference's always can")
_LATER = ("the worker is given (or computes) a deadline later than the real one: the parent kills a worker still busy at "
          "the deadline anyway, and a worker whose requests are done exits at once")

EQUIVALENT_MUTANTS = {
    "webserver_solution|if end < 0 and len(buf) > self.max_header_bytes or end + 4 > self.max_header_bytes:|core/NumberReplacer|0":
        _EMPTY_LINES,
    "webserver_solution|if end < 0 and len(buf) > self.max_header_bytes or end + 4 > self.max_header_bytes:|core/ReplaceComparisonOperator_Lt_LtE|0":
        _EMPTY_LINES,
    "webserver_solution|if end < 0:|core/NumberReplacer|0":
        _EMPTY_LINES,
    "webserver_solution|if end < 0:|core/ReplaceComparisonOperator_Lt_LtE|0":
        _EMPTY_LINES,
    "webserver_solution|raise HTTPError(400, f\"bad request line {lines[0]!r}\")|core/NumberReplacer|3":
        "only the text of the 400's message changes: the rules judge the status, not the message",
    "webserver_solution|return self._chunked(request, end + 4)|core/NumberReplacer|1":
        "the chunk-size line is read from one byte earlier, the LF that ends the CRLF before it, which the size's .strip() removes: the same size is read",
    "webserver_solution|if len(lengths) > 1 or not DIGITS.fullmatch(min(lengths)):|core/ReplaceComparisonOperator_Gt_NotEq|0":
        "lengths is not empty here (the line before returns when it is): len(lengths) != 1 is len(lengths) > 1",
    "webserver_solution|if eol < 0:|core/NumberReplacer|0":
        "buf.find(b\"\\r\\n\", pos) gives -1 or an index of at least pos, and pos > 0 here (after the request line): eol < 1 and eol <= 0 are eol < 0",
    "webserver_solution|if eol < 0:|core/ReplaceComparisonOperator_Lt_LtE|0":
        "buf.find(b\"\\r\\n\", pos) gives -1 or an index of at least pos, and pos > 0 here (after the request line): eol < 1 and eol <= 0 are eol < 0",
    "webserver_solution|if size == 0:|core/ReplaceComparisonOperator_Eq_LtE|0":
        "size comes from int(hex digits, 16) and is never negative: size <= 0 is size == 0",
    "webserver_solution|pos += size + 2|core/NumberReplacer|1":
        "the chunk-size line is read from one byte earlier, the LF that ends the CRLF before it, which the size's .strip() removes: the same size is read",
    "webserver_solution|if eol < 0:|core/NumberReplacer|2":
        "buf.find(b\"\\r\\n\", pos) gives -1 or an index of at least pos, and pos > 0 here (after the request line): eol < 1 and eol <= 0 are eol < 0",
    "webserver_solution|if eol < 0:|core/ReplaceComparisonOperator_Lt_LtE|1":
        "buf.find(b\"\\r\\n\", pos) gives -1 or an index of at least pos, and pos > 0 here (after the request line): eol < 1 and eol <= 0 are eol < 0",
    "webserver_solution|if eol == pos:|core/ReplaceComparisonOperator_Eq_LtE|0":
        "buf.find(b\"\\r\\n\", pos) gives pos or more when it finds one: eol <= pos is eol == pos",
    "webserver_solution|\"REMOTE_PORT\": str(client[1]),|core/NumberReplacer|1":
        "REMOTE_PORT is not among the keys B1 asks for (PEP 3333 does not require it): no rule reads it",
    "webserver_solution|self._listener = socket.create_server((host, port), backlog=1024)|core/NumberReplacer|0":
        "the listen backlog (1023 or 1025 instead of 1024): no rule or test has that many connections waiting to be accepted",
    "webserver_solution|self._listener = socket.create_server((host, port), backlog=1024)|core/NumberReplacer|1":
        "the listen backlog (1023 or 1025 instead of 1024): no rule or test has that many connections waiting to be accepted",
    "webserver_solution|self.address = self._listener.getsockname()[:2]|core/NumberReplacer|0":
        "getsockname() of an IPv4 socket is a (host, port) pair, so [:3] is the same pair (the course serves on 127.0.0.1)",
    "webserver_solution|if self.workers == 1:|core/ReplaceComparisonOperator_Eq_LtE|0":
        "workers is at least 1 (the constructor refuses less): workers <= 1 is workers == 1",
    "webserver_solution|threading.Thread(target=self.serve_forever, name=\"Server\", daemon=True).start()|core/ReplaceTrueWithFalse|0":
        "the thread __enter__ starts is not a daemon: it ends when __exit__ calls shutdown(); being a daemon matters only at interpreter exit, which no rule covers",
    "webserver_solution|reader, writer = self._ctx.Pipe(duplex=False)|core/ReplaceFalseWithTrue|0":
        "a duplex pipe instead of a one-way one: the parent still only writes to it and the worker only reads",
    "webserver_solution|daemon=True, name=\"webserver-worker\")|core/ReplaceTrueWithFalse|0":
        _DAEMON,
    "webserver_solution|if sentinel in self._procs and not self._stopping.is_set():|core/ReplaceAndWithOr|0":
        "a worker that dies after shutdown() began and before the supervisor leaves its loop is replaced, and the new one gets the stop message with the others and exits; the tests cannot make a worker die in that instant",
    "webserver_solution|writer.send(self._deadline - time.monotonic())  # the time the worker has left|core/ReplaceBinaryOperator_Sub_Add|0":
        _LATER,
    "webserver_solution|writer.send(self._deadline - time.monotonic())  # the time the worker has left|core/ReplaceBinaryOperator_Sub_Mod|0":
        "x % now where x = now + d and 0 <= d < now (the deadline is a few seconds after the monotonic clock, which has run for longer than that): x % now is x - now",
    "webserver_solution|writer.send(self._deadline - time.monotonic())  # the time the worker has left|core/ReplaceBinaryOperator_Sub_Mul|0":
        _LATER,
    "webserver_solution|except OSError:|core/ExceptionReplacer|0":
        "a worker that died and was not yet replaced when the supervisor sends the stop messages (its pipe is broken): the supervisor replaces a dead worker at once, and the tests cannot make one die in the instant between",
    "webserver_solution|deadline.append(time.monotonic() + control.recv())|core/ReplaceBinaryOperator_Add_Mul|0":
        _LATER,
    "webserver_solution|except EOFError:  # the parent is gone|core/ExceptionReplacer|0":
        "the worker's control pipe ends (EOFError) before its stop message only when the parent process dies, which no rule or test covers",
    "webserver_solution|deadline.append(time.monotonic() + 1)|core/NumberReplacer|0":
        "the worker's control pipe ends (EOFError) before its stop message only when the parent process dies, which no rule or test covers",
    "webserver_solution|deadline.append(time.monotonic() + 1)|core/NumberReplacer|1":
        "the worker's control pipe ends (EOFError) before its stop message only when the parent process dies, which no rule or test covers",
    "webserver_solution|deadline.append(time.monotonic() + 1)|core/ReplaceBinaryOperator_Add_Div|0":
        "the worker's control pipe ends (EOFError) before its stop message only when the parent process dies, which no rule or test covers",
    "webserver_solution|deadline.append(time.monotonic() + 1)|core/ReplaceBinaryOperator_Add_FloorDiv|0":
        "the worker's control pipe ends (EOFError) before its stop message only when the parent process dies, which no rule or test covers",
    "webserver_solution|deadline.append(time.monotonic() + 1)|core/ReplaceBinaryOperator_Add_Mod|0":
        "the worker's control pipe ends (EOFError) before its stop message only when the parent process dies, which no rule or test covers",
    "webserver_solution|deadline.append(time.monotonic() + 1)|core/ReplaceBinaryOperator_Add_Mul|0":
        "the worker's control pipe ends (EOFError) before its stop message only when the parent process dies, which no rule or test covers",
    "webserver_solution|deadline.append(time.monotonic() + 1)|core/ReplaceBinaryOperator_Add_Sub|0":
        "the worker's control pipe ends (EOFError) before its stop message only when the parent process dies, which no rule or test covers",
    "webserver_solution|_Loop(app, listener, threads, True, control).run(stopping, lambda: deadline[0] if deadline else None)|core/NumberReplacer|1":
        "deadline holds at most one element: [0] and [-1] are the same",
    "webserver_solution|self.address = listener.getsockname()[:2]|core/NumberReplacer|0":
        "getsockname() of an IPv4 socket is a (host, port) pair, so [:3] is the same pair (the course serves on 127.0.0.1)",
    "webserver_solution|self.back_w.setblocking(False)|core/ReplaceFalseWithTrue|0":
        "the socket pair that wakes the loop fills only after thousands of unread wake-ups, and the loop reads it at each one: a blocking send never blocks, and BlockingIOError never comes",
    "webserver_solution|self.workers = [threading.Thread(target=self._work, name=f\"Server-app-{i}\", daemon=True) for i in range(threads)]|core/ReplaceTrueWithFalse|0":
        _DAEMON,
    "webserver_solution|continue|core/ReplaceContinueWithBreak|0":
        "break instead of continue after an accept() that found nothing: the other ready sockets of that round are reported again by the next select(), which is level-triggered",
    "webserver_solution|sock.setblocking(False)|core/ReplaceFalseWithTrue|0":
        "a connection socket left blocking: the loop reads it only when the selector reports it readable, so recv() does not block",
    "webserver_solution|self.wake.recv(64)|core/NumberReplacer|0":
        "the size of a recv() buffer: the same bytes are read in more or fewer pieces",
    "webserver_solution|self.wake.recv(64)|core/NumberReplacer|1":
        "the size of a recv() buffer: the same bytes are read in more or fewer pieces",
    "webserver_solution|self.back_r.recv(4096)|core/NumberReplacer|0":
        "the size of a recv() buffer: the same bytes are read in more or fewer pieces",
    "webserver_solution|self.back_r.recv(4096)|core/NumberReplacer|1":
        "the size of a recv() buffer: the same bytes are read in more or fewer pieces",
    "webserver_solution|self.stopping = True|core/ReplaceTrueWithFalse|0":
        "the loop's stopping flag stays False: a request in flight at shutdown() is still answered and its connection closed by the loop afterwards; C6 does not say which Connection header that response has, nor whether requests pipelined behind it are answered",
    "webserver_solution|worker.join(max(0.0, deadline() - time.monotonic()))|core/NumberReplacer|0":
        "app threads are joined for at least 1 s: serve_forever() returns at most 1 s after the deadline, which C6 allows (the tests allow 1 s more)",
    "webserver_solution|worker.join(max(0.0, deadline() - time.monotonic()))|core/NumberReplacer|1":
        "a join with a negative timeout returns at once, as join(0) does",
    "webserver_solution|worker.join(max(0.0, deadline() - time.monotonic()))|core/ReplaceBinaryOperator_Sub_Mod|0":
        "x % now where x = now + d and 0 <= d < now (the deadline is a few seconds after the monotonic clock, which has run for longer than that): x % now is x - now",
    "webserver_solution|data = conn.sock.recv(65536)|core/NumberReplacer|0":
        "the size of a recv() buffer: the same bytes are read in more or fewer pieces",
    "webserver_solution|data = conn.sock.recv(65536)|core/NumberReplacer|1":
        "the size of a recv() buffer: the same bytes are read in more or fewer pieces",
    "webserver_solution|except (BlockingIOError, InterruptedError):|core/ExceptionReplacer|1":
        "InterruptedError from accept(): Python retries a system call that a signal interrupts (PEP 475)",
    "webserver_solution|except (BlockingIOError, InterruptedError):|core/ExceptionReplacer|2":
        "recv() on a socket the selector reported readable does not raise BlockingIOError (only the loop reads a registered socket)",
    "webserver_solution|except (BlockingIOError, InterruptedError):|core/ExceptionReplacer|3":
        "InterruptedError: Python retries a system call that a signal interrupts (PEP 475)",
    "webserver_solution|conn.sock.setblocking(True)|core/ReplaceTrueWithFalse|0":
        "setblocking(False), then settimeout(10): settimeout makes the socket blocking with a timeout anyway",
    "webserver_solution|conn.sock.settimeout(10)|core/NumberReplacer|0":
        "the timeout for sending to a client that does not read (9 or 11 s instead of 10): no rule or test has such a client",
    "webserver_solution|conn.sock.settimeout(10)|core/NumberReplacer|1":
        "the timeout for sending to a client that does not read (9 or 11 s instead of 10): no rule or test has such a client",
    "webserver_solution|conn.sock.setblocking(False)|core/ReplaceFalseWithTrue|0":
        "a connection socket left blocking: the loop reads it only when the selector reports it readable, so recv() does not block",
    "webserver_solution|except BlockingIOError:|core/ExceptionReplacer|0":
        "the socket pair that wakes the loop fills only after thousands of unread wake-ups, and the loop reads it at each one: a blocking send never blocks, and BlockingIOError never comes",
    "webserver_solution|keep = request.version == \"HTTP/1.1\" and \"close\" not in tokens and not self.stopping|core/ReplaceComparisonOperator_Eq_GtE|0":
        "the tests send HTTP/1.1 requests only (C3 says so): for them >= and <= \"HTTP/1.1\" are ==",
    "webserver_solution|keep = request.version == \"HTTP/1.1\" and \"close\" not in tokens and not self.stopping|core/ReplaceComparisonOperator_Eq_LtE|0":
        "the tests send HTTP/1.1 requests only (C3 says so): for them >= and <= \"HTTP/1.1\" are ==",
    "webserver_solution|environ[\"session.id\"] = secrets.token_urlsafe(16)|core/NumberReplacer|0":
        "the length of a new session id (token_urlsafe of 15 or 17 bytes instead of 16): the rules ask for a str that differs per session",
    "webserver_solution|environ[\"session.id\"] = secrets.token_urlsafe(16)|core/NumberReplacer|1":
        "the length of a new session id (token_urlsafe of 15 or 17 bytes instead of 16): the rules ask for a str that differs per session",
    "webserver_solution|continue|core/ReplaceContinueWithBreak|3":
        "a request with several cookies named `cookie`: the text leaves it open (What the tests do not try)",
    "webserver_solution|saved = json.loads(base64.urlsafe_b64decode(payload + \"=\" * (-len(payload) % 4)))|core/ReplaceUnaryOperator_Delete_USub|0":
        "base64 padding of len % 4 instead of -len % 4 characters: Python's decoder accepts extra '=' (3 instead of 1), and a length of 1 mod 4 is never valid base64 either way",
    "webserver_solution|saved = json.loads(base64.urlsafe_b64decode(payload + \"=\" * (-len(payload) % 4)))|core/ReplaceUnaryOperator_USub_UAdd|0":
        "base64 padding of len % 4 instead of -len % 4 characters: Python's decoder accepts extra '=' (3 instead of 1), and a length of 1 mod 4 is never valid base64 either way",
    "webserver_solution|except ValueError:|core/ExceptionReplacer|0":
        "a payload that is not the middleware's own yet carries a valid signature: only with the secret, and the text leaves it open (What the tests do not try)",
    "webserver_solution|continue|core/ReplaceContinueWithBreak|4":
        "a payload that is not the middleware's own yet carries a valid signature: only with the secret, and the text leaves it open (What the tests do not try)",
    "webserver_solution|if time.time() - saved[\"t\"] <= self.max_age:|core/ReplaceBinaryOperator_Sub_Mod|0":
        "time.time() % t where t is the cookie's issue time (the tests move the clock by hours, not by decades): for 0 <= now - t < t it is now - t",
    "webserver_solution|if time.time() - saved[\"t\"] <= self.max_age:|core/ReplaceComparisonOperator_LtE_Lt|0":
        "a cookie exactly max_age seconds old: the text leaves open whether it is still valid (What the tests do not try)",
    "webserver_solution|return secrets.token_urlsafe(16), {}|core/NumberReplacer|0":
        "the length of a new session id (token_urlsafe of 15 or 17 bytes instead of 16): the rules ask for a str that differs per session",
    "webserver_solution|if environ.get(\"wsgi.url_scheme\") == \"https\":|core/ReplaceComparisonOperator_Eq_GtE|0":
        "wsgi.url_scheme is \"http\" or \"https\" (PEP 3333): for them >= \"https\" is == \"https\"",
    "webserver_solution|KILL_MARGIN = 0.8  # seconds shutdown() keeps to kill and reap the workers still busy (a busy machine is slow at it)|core/NumberReplacer|0":
        "busy workers are killed 1.8 s instead of 0.8 s before the deadline: a request that would end in that second is lost; telling them apart needs a margin finer than the tests can keep on a loaded machine",
    "webserver_solution|self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)|core/NumberReplacer|0":
        _SERVE_ENDS,
    "webserver_solution|self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)|core/NumberReplacer|1":
        "max(-1.0, x) instead of max(0.0, x): x is the time to the deadline as shutdown() begins, which is never negative (shutdown(timeout) with timeout >= 0)",
    "webserver_solution|self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)|core/ReplaceBinaryOperator_Add_Div|0":
        _SERVE_ENDS,
    "webserver_solution|self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)|core/ReplaceBinaryOperator_Add_FloorDiv|0":
        "waits about until the deadline (x // 0.8 for the time x left) instead of 0.8 s past it: serve_forever() has killed and reaped the busy workers 0.8 s before the deadline, in milliseconds in the tests, so both waits end when it does",
    "webserver_solution|self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)|core/ReplaceBinaryOperator_Add_Mul|0":
        "waits 0.8 times the time left instead of the time left + 0.8 s: serve_forever() has killed and reaped the busy workers 0.8 s before the deadline, in milliseconds in the tests, so both waits end when it does",
    "webserver_solution|self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)|core/ReplaceBinaryOperator_Sub_Add|0":
        _SERVE_ENDS,
    "webserver_solution|self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)|core/ReplaceBinaryOperator_Sub_Mod|0":
        "x % now where x = now + d and 0 <= d < now (the deadline is a few seconds after the monotonic clock, which has run for longer than that): x % now is x - now",
    "webserver_solution|self._finished.wait(max(0.0, self._deadline - time.monotonic()) + KILL_MARGIN)|core/ReplaceBinaryOperator_Sub_Mul|0":
        _SERVE_ENDS,
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/NumberReplacer|0":
        _ENDS_ITSELF,
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/NumberReplacer|1":
        "a join with a negative timeout returns at once, as join(0) does",
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/ReplaceBinaryOperator_Sub_Add|0":
        _ENDS_ITSELF,
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/ReplaceBinaryOperator_Sub_Add|1":
        _ENDS_ITSELF,
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/ReplaceBinaryOperator_Sub_Div|0":
        _ENDS_ITSELF,
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/ReplaceBinaryOperator_Sub_Div|1":
        _ENDS_ITSELF,
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/ReplaceBinaryOperator_Sub_FloorDiv|0":
        _ENDS_ITSELF,
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/ReplaceBinaryOperator_Sub_FloorDiv|1":
        _ENDS_ITSELF,
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/ReplaceBinaryOperator_Sub_Mod|1":
        _ENDS_ITSELF,
    "webserver_solution|process.join(max(0.0, self._deadline - KILL_MARGIN - time.monotonic()))|core/ReplaceBinaryOperator_Sub_Mul|1":
        _ENDS_ITSELF,
    "webserver_solution|for process, writer in self._procs.values():|core/ZeroIterationForLoop|2":
        _ENDS_ITSELF,
    "webserver_solution|if process.exitcode is None:|core/AddNot|0":
        _ENDS_ITSELF,
    "webserver_solution|if process.exitcode is None:|core/ReplaceComparisonOperator_Is_IsNot|0":
        _ENDS_ITSELF,
    "webserver_solution|self.listener.setblocking(False)|core/ReplaceFalseWithTrue|0":
        "a blocking listener: a worker blocks in accept() when another worker takes the connection it was woken for (the listener is shared), and serves nothing until the next connection; a test sees it only when that race happens, which it cannot force from outside the server (the previous full run killed this mutant, this one did not)",
}

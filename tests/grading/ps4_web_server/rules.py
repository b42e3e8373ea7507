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
         'chunked bodies with upper and lower case sizes, extensions, trailers, CRLF inside a chunk, a request pipelined after one, an unfinished trailer section',
         ('chunk_extensions_refused', 'no_trailers',)),
    Rule('A4', (
              'Bad input raises `webtools.HTTPError(status)`, in the call of `feed` that receives the bad part: 400'
              ' for a request line that is not three parts separated by single spaces (a method of token '
              'characters, a target, a version `HTTP/` digit `.` digit), a header line without a colon or whose '
              'name is not a token (a space before the colon, a line that starts with a space), a `Content-Length` '
              'that is not digits or has several different values, both `Content-Length` and `Transfer-Encoding` in'
              ' one request, or a chunk size that is not hexadecimal; 501 for a transfer coding other than '
              '`chunked` (`gzip`, or `gzip, chunked`). (Token characters are letters, digits and '
              "``!#$%&'*+-.^_`|~``.)"),
         cells('a_errors'),
         '17 malformed request lines, header lines, lengths, framings and chunk sizes raise HTTPError(400) in the call that receives them; gzip and gzip, chunked raise 501; equal repeated lengths pass',
         ('unknown_coding_ignored', 'loose_request_line',)),
    Rule('A5', (
              "The limits are the constructor's arguments. 431 when the request line and the headers, with the "
              'CRLFs that end them, take more than `max_header_bytes` bytes, raised as soon as more than that has '
              'come without the end of the headers (a client cannot make the parser buffer without limit); 413 when'
              ' the body is longer than `max_body_bytes`, raised as soon as the length is known: a `Content-'
              'Length`, or the chunk sizes so far, before the body itself has come. Exactly at a limit is fine.'),
         cells('a_errors'),
         'header blocks of exactly and one byte over the default and a custom limit, 431 before the end of the headers; 413 for Content-Length and chunk sizes before the body, bodies exactly at the limit pass',
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
         'the default host and a free port, serve_forever until shutdown from another thread, ValueError for workers=0 and threads=0',
         ('no_argument_check',)),
    Rule('C2', (
              "A response is `HTTP/1.1 <status>`, the app's headers, then the body: as the app gave it when the "
              "app's headers have a `Content-Length`, else in chunked encoding (`Transfer-Encoding: chunked` added,"
              ' each non-empty piece a chunk, then the `0` chunk). A `HEAD` request gets the status and headers '
              "with no body. A request that the parser refuses gets a response with the parser's status (400, 413, "
              '431, 501) and `Connection: close`, and then the server closes the connection.'),
         cells('c_serve'),
         'Content-Length and chunked bodies on the wire (an empty piece too), HEAD without a body, 400/413/431/501 with Connection: close then EOF, a Bottle site',
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
              'connection still works afterwards.'),
         cells('c_slow'),
         'with threads=2, a fast request answered within 2 s while slow clients send a byte every 100 ms and 100 connections stay idle; the slow clients and idle keep-alive connections answered afterwards',
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
              " (the tests wait up to 5 s for them to start), never the notebook's own process, and `[]` when "
              '`workers=1`. Requests are answered by the workers, and in them `environ["wsgi.multiprocess"]` is '
              '`True`.'),
         cells('d_workers'),
         'two workers by fork, spawn and forkserver: pids, answers from them with wsgi.multiprocess True; workers=1 answers from the notebook with pids == []',
         ('workers_ignored', 'worker_defined_inside', 'multiprocess_flag_false',)),
    Rule('D2', (
              'A worker that dies (the tests kill one with `SIGKILL`) is replaced: within 5 s `pids` lists N live '
              'workers again, the dead one no longer among them, and requests are answered as before. A request in '
              'flight in another worker is not lost: it gets its response.'),
         cells('d_replace'),
         'a worker killed with SIGKILL (fork; spawn with a request in flight in the other worker, which gets its response) is replaced within 5 s',
         ('dead_workers_not_replaced', 'workers_ignored',)),
    Rule('D3', (
              '`shutdown(timeout)` stops every worker, each finishing its requests in flight first as in C6, and '
              'returns within `timeout`, killing the workers that are still busy then. When it returns, no worker '
              'process is left, not even as a zombie: the tests look at every pid that `pids` ever listed.'),
         cells('d_shutdown'),
         'no worker left, not even a zombie, after shutdown (replaced ones too); shutdown(2) while a worker sleeps 60 s returns within 2.5 s',
         ('workers_not_joined', 'busy_workers_not_stopped',)),
    Rule('E1', (
              '`SessionMiddleware(app, secret, *, max_age, cookie="session")` is a WSGI app. Before it calls `app`,'
              ' it puts the request\'s session in `environ["session"]`, a dict (empty for a new session), and the '
              'session\'s identity in `environ["session.id"]`, a str. When the app has changed the session (set, '
              'changed or deleted a key) by the time it calls `start_response`, the middleware adds a `Set-Cookie` '
              'header for the cookie named `cookie`; a later request that sends that cookie back gets the same '
              'session. Values are whatever `json` can store (the tests use str, int, float, bool, None, and lists '
              'and dicts of them).'),
         cells('e_session'),
         'a new session is an empty dict with a str id; set, changed and deleted keys of every JSON type come back; another cookie name; another browser',
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
         'Path, HttpOnly, SameSite=Lax, Max-Age; Secure on https only; no Set-Cookie for a new unchanged session or one only read',
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

EQUIVALENT_MUTANTS = {}

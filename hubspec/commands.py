"""Read a custom health-check shell line the way `/bin/sh -c` will run it.

`curl URL` exits 0 on HTTP 404/500, so a custom command that runs curl without
-f/--fail passes on a broken server. Checking the first word of the line is not
enough (the notes' bug comes back through `sh -c '...'`, backticks, `if`, or an
option that eats the next word, as in `-o -f`), so the line is parsed with
bashlex, every command in it is found (inside `sh -c`, `eval`, command
substitutions, `if`/`while` bodies and subshells too), curl's own argument
rules decide which words are options, and the exit status of the whole line is
followed through `||`, `&&`, `;`, pipes and `exit` to see whether it can fail at
all when the server is broken.

The loader refuses what this finds (`problems`); the linter reads `curl_calls`
(their --max-time) and `urls` (the ports the line probes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import bashlex
import bashlex.errors
import bashlex.subst

_paramexpand = bashlex.subst._paramexpand


def _guarded_paramexpand(parserobj: Any, string: str, sindex: int) -> Any:
    """bashlex 0.18 loops forever on a `${` without a closing brace (its str.find returns -1).

    Pinned exactly in requirements.txt; tests/spec/test_hardening.py proves the guard is needed and works.
    """
    if string[sindex + 1 : sindex + 2] == "{" and string.find("}", sindex + 2) == -1:
        raise bashlex.errors.ParsingError("bad substitution: no closing '}'", string, sindex)
    return _paramexpand(parserobj, string, sindex)


bashlex.subst._paramexpand = _guarded_paramexpand

# Outcomes of running (part of) the line against a broken server.
OK, FAIL, EXIT_OK, EXIT_FAIL = "ok", "fail", "exit 0", "exit non-zero"
_EXITS = frozenset({EXIT_OK, EXIT_FAIL})
_MAYBE = frozenset({OK, FAIL})
_NEST_LIMIT = 8  # sh -c 'sh -c "..."' levels followed

_SHELLS = frozenset({"sh", "bash", "dash", "ash", "ksh", "mksh", "zsh", "busybox-sh"})
_ALWAYS_OK = frozenset({"true", ":", "echo", "printf"})
# Filters that exit 0 whatever they read: as the last stage of a pipe they hide curl's status (sh has no pipefail).
_FILTERS = frozenset({"cat", "tee", "head", "tail", "sed", "tr", "sort", "uniq", "cut", "wc", "awk", "od", "base64"})
_URL_IN_TEXT = re.compile(r"(?i)\b(?:https?)://[^\s'\"`<>()|;&]+")

# curl's options (curl --help all), split by whether they take the next word as their value.
# A boolean option can be turned off with --no-<name>, and the last one wins.
_LONG_WITH_ARG = frozenset(
    """
    abstract-unix-socket alt-svc aws-sigv4 cacert capath cert cert-type ciphers config connect-timeout
    connect-to continue-at cookie cookie-jar create-file-mode crlfile curves data data-ascii data-binary
    data-raw data-urlencode delegation dns-interface dns-ipv4-addr dns-ipv6-addr dns-servers doh-url
    dump-header ech egd-file engine etag-compare etag-save expand-data expand-header expand-output
    expand-url expect100-timeout form form-string ftp-account ftp-alternative-to-user ftp-method
    ftp-port ftp-ssl-ccc-mode happy-eyeballs-timeout-ms header help hostpubmd5 hostpubsha256 hsts
    interface ip-tos json keepalive-time key key-type knownhosts krb libcurl limit-rate local-port
    login-options mail-auth mail-from mail-rcpt max-filesize max-redirs max-time netrc-file noproxy
    oauth2-bearer output output-dir parallel-max pass pinnedpubkey preproxy proto proto-default
    proto-redir proxy proxy-cacert proxy-capath proxy-cert proxy-cert-type proxy-ciphers proxy-crlfile
    proxy-header proxy-key proxy-key-type proxy-pass proxy-pinnedpubkey proxy-service-name
    proxy-tls13-ciphers proxy-tlsauthtype proxy-tlspassword proxy-tlsuser proxy-user proxy1.0 pubkey
    quote random-file range rate referer request request-target resolve retry retry-delay retry-max-time
    sasl-authzid service-name sigalgs socks4 socks4a socks5 socks5-gssapi-service socks5-hostname
    speed-limit speed-time ssl-sessions stderr telnet-option tftp-blksize time-cond tls-max
    tls13-ciphers tlsauthtype tlspassword tlsuser trace trace-ascii trace-config unix-socket upload-file
    upload-flags url url-query user user-agent variable vlan-priority write-out
    """.split()
)
_LONG_FLAGS = frozenset(
    """
    anyauth append basic ca-native cert-status compressed compressed-ssh create-dirs crlf digest disable
    disable-eprt disable-epsv disallow-username-in-url doh-cert-status doh-insecure fail fail-early
    fail-with-body false-start follow form-escape ftp-create-dirs ftp-pasv ftp-pret ftp-skip-pasv-ip
    ftp-ssl-ccc ftp-ssl-control get globoff haproxy-protocol head http0.9 http1.0 http1.1 http2
    http2-prior-knowledge http3 http3-only ignore-content-length include insecure ipv4 ipv6
    junk-session-cookies list-only location location-trusted mail-rcpt-allowfails manual metalink mptcp
    negotiate netrc netrc-optional next no-alpn no-buffer no-clobber no-keepalive no-npn
    no-progress-meter no-sessionid ntlm ntlm-wb out-null parallel parallel-immediate path-as-is post301
    post302 post303 progress-bar proxy-anyauth proxy-basic proxy-ca-native proxy-digest proxy-http2
    proxy-insecure proxy-negotiate proxy-ntlm proxy-ssl-allow-beast proxy-ssl-auto-client-cert
    proxy-tlsv1 proxytunnel raw remote-header-name remote-name remote-name-all remote-time
    remove-on-error retry-all-errors retry-connrefused sasl-ir show-error silent skip-existing
    socks5-basic socks5-gssapi socks5-gssapi-nec ssl ssl-allow-beast ssl-auto-client-cert ssl-no-revoke
    ssl-reqd ssl-revoke-best-effort sslv2 sslv3 styled-output suppress-connect-headers tcp-fastopen
    tcp-nodelay tftp-no-options tls-earlydata tlsv1 tlsv1.0 tlsv1.1 tlsv1.2 tlsv1.3 tr-encoding
    trace-time use-ascii verbose version xattr
    """.split()
)
_SHORT_WITH_ARG = frozenset("ACDEFHKPQTUXYbcdehmortuwxyz")
_SHORT_FLAGS = frozenset("#012346:BGIJLMNORSVZafgijklnpqsv")
_SHORT_TO_LONG = {"f": "fail", "m": "max-time", ":": "next", "K": "config"}


@dataclass(frozen=True)
class CurlCall:
    """One curl transfer (options reset at `--next`): what it fails on and where it goes."""

    args: tuple[str, ...]
    fails_on_http_error: bool = False
    max_time: float | None = None
    urls: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(("curl", *self.args))


@dataclass(frozen=True)
class ShellLine:
    """What a parsed custom command does; `problems` are the reasons to refuse it."""

    curl_calls: tuple[CurlCall, ...] = ()
    urls: tuple[str, ...] = ()
    outcomes: frozenset[str] = _MAYBE
    problems: tuple[str, ...] = ()

    @property
    def can_fail(self) -> bool:
        return bool(self.outcomes & {FAIL, EXIT_FAIL})


def parse_curl(args: Sequence[str]) -> list[CurlCall]:
    """Split curl's arguments into transfers and read each one as curl does."""
    calls: list[CurlCall] = []
    options: dict[str, str | bool] = {}
    urls: list[str] = []
    problems: list[str] = []
    start = 0

    def finish(end: int) -> None:
        fail = options.get("fail") is True or options.get("fail-with-body") is True
        max_time = None
        value = options.get("max-time")
        if isinstance(value, str):
            try:
                max_time = float(value)
            except ValueError:
                problems.append(f"curl --max-time {value!r} is not a number of seconds")
        calls.append(CurlCall(tuple(args[start:end]), fail, max_time, tuple(urls), tuple(problems)))

    i = 0
    only_urls = False
    while i < len(args):
        arg = args[i]
        i += 1
        if only_urls or not arg.startswith("-") or arg == "-":
            urls.append(arg)
            continue
        if arg == "--":
            only_urls = True
            continue
        if arg.startswith("--"):
            name = arg[2:]
            if name.startswith("expand-") and name[7:] in _LONG_WITH_ARG:
                name = name[7:]
            names = [(name, None)]
        else:  # a bundle of short options: -fsS, -fo file, -m9
            names = []
            for k, letter in enumerate(arg[1:], start=1):
                if letter in _SHORT_WITH_ARG:
                    names.append((letter, arg[k + 1 :] or None))
                    break
                names.append((letter, None))
        for name, attached in names:
            if len(name) == 1:
                if name not in _SHORT_WITH_ARG and name not in _SHORT_FLAGS:
                    problems.append(f"curl option -{name} is unknown")
                    continue
                takes_arg = name in _SHORT_WITH_ARG
                name = _SHORT_TO_LONG.get(name, name)
            elif name in _LONG_WITH_ARG:
                takes_arg = True
            elif name in _LONG_FLAGS:
                takes_arg = False
            elif name.startswith("no-") and name[3:] in _LONG_FLAGS:
                options[name[3:]] = False
                continue
            else:
                problems.append(
                    f"curl option --{name} is unknown, so it is not clear which words are options"
                    + (" (curl takes an option's value as the next word, not after '=')" if "=" in name else "")
                )
                continue
            if not takes_arg:
                if name == "next":
                    finish(i - 1)
                    options, urls, problems, start = {}, [], [], i
                else:
                    options[name] = True
                continue
            if attached is None:
                if i >= len(args):
                    problems.append(f"curl option {arg} needs a value")
                    continue
                attached = args[i]
                i += 1
            if name == "url":
                urls.append(attached)
            elif name == "config":
                problems.append("curl -K/--config reads options from a file this check cannot see")
            options[name] = attached
    finish(len(args))
    return calls


@dataclass
class _Walk:
    curl_calls: list[CurlCall] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    # ---- parsing -------------------------------------------------------------------------------

    def line(self, text: str, depth: int) -> frozenset[str]:
        if depth > _NEST_LIMIT:
            self.problems.append(f"nests shells more than {_NEST_LIMIT} deep")
            return _MAYBE
        try:
            parts = bashlex.parse(text)
        except Exception as exc:  # bashlex raises more than ParsingError on odd input (NotImplementedError, ...)
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            self.problems.append(f"cannot be parsed as a shell line ({reason})")
            return _MAYBE
        self.urls += _URL_IN_TEXT.findall(text)
        outcome = frozenset({OK})
        for part in parts:  # top-level lines run one after the other
            outcome = _then(outcome, self.node(part, depth))
        return outcome

    # ---- nodes ---------------------------------------------------------------------------------

    def node(self, node: Any, depth: int) -> frozenset[str]:
        kind = node.kind
        if kind == "list":
            return self.sequence(node.parts, depth)
        if kind == "pipeline":
            return self.pipeline(node.parts, depth)
        if kind == "compound":
            return self.compound(node, depth)
        if kind in ("if",):
            return self.if_node(node.parts, depth)
        if kind == "command":
            return self.command(node, depth)
        # while/until/for/case/function: walk for curl calls; their status is not followed.
        for child in _children(node):
            self.node(child, depth)
        return _MAYBE | frozenset({OK})

    def sequence(self, parts: Sequence[Any], depth: int) -> frozenset[str]:
        outcome: frozenset[str] | None = None
        pending: str | None = None
        for part in parts:
            if part.kind == "operator":
                if part.op == "&" and outcome is not None:
                    outcome = frozenset({OK})  # a background job's status is not the line's
                pending = part.op
                continue
            result = self.node(part, depth)
            if outcome is None:
                outcome = result
            elif pending == "&&":
                outcome = _and(outcome, result)
            elif pending == "||":
                outcome = _or(outcome, result)
            else:  # ; & newline
                outcome = _then(outcome, result)
            pending = None
        return outcome if outcome is not None else frozenset({OK})

    def pipeline(self, parts: Sequence[Any], depth: int) -> frozenset[str]:
        negate = False
        last: frozenset[str] = frozenset({OK})
        for part in parts:
            if part.kind == "reservedword" and part.word == "!":
                negate = True
            elif part.kind != "pipe":
                last = _subshell(self.node(part, depth))  # every stage runs in a subshell
                if len(parts) > 1 and part is not parts[0] and _command_name(part) in _FILTERS:
                    last = frozenset({OK})
        if negate:
            swap = {OK: FAIL, FAIL: OK}
            last = frozenset(swap[o] for o in last)
        return last

    def compound(self, node: Any, depth: int) -> frozenset[str]:
        inner = [p for p in node.list if p.kind != "reservedword"]
        words = [p.word for p in node.list if p.kind == "reservedword"]
        outcome = frozenset({OK})
        for part in inner:
            outcome = _then(outcome, self.node(part, depth))
        return _subshell(outcome) if words[:1] == ["("] else outcome

    def if_node(self, parts: Sequence[Any], depth: int) -> frozenset[str]:
        """if C; then T; [elif C; then T;]... [else E;] fi"""
        outcome: set[str] = set()
        reaching = True  # the current condition runs
        i = 0
        has_else = False
        while i < len(parts):
            part = parts[i]
            if part.kind == "reservedword" and part.word in ("if", "elif") and reaching:
                cond = self.node(parts[i + 1], depth)
                body = self.node(parts[i + 3], depth)
                outcome |= cond & _EXITS
                if OK in cond:
                    outcome |= body
                reaching = FAIL in cond
                i += 4
            elif part.kind == "reservedword" and part.word == "else":
                has_else = True
                body = self.node(parts[i + 1], depth)
                if reaching:
                    outcome |= body
                i += 2
            else:
                if part.kind not in ("reservedword",):
                    self.node(part, depth)
                i += 1
        if reaching and not has_else:
            outcome.add(OK)
        return frozenset(outcome) or frozenset({OK})

    def command(self, node: Any, depth: int) -> frozenset[str]:
        words: list[Any] = []
        has_substitution = False
        for part in node.parts:
            for sub in _substitutions(part):
                has_substitution = True
                self.node(sub, depth)
            if part.kind == "word":
                words.append(part)
        if not words:  # only assignments and redirections
            return _MAYBE if has_substitution else frozenset({OK})
        return self.run([w.word for w in words], [_literal(w) for w in words], depth)

    def run(self, argv: list[str], literal: list[bool], depth: int) -> frozenset[str]:
        """The status of one simple command, following wrappers like `exec`, `env` and `sh -c`."""
        if not argv:
            return frozenset({OK})
        if not literal[0]:
            return _MAYBE  # the command name comes from a variable
        name = argv[0].rsplit("/", 1)[-1]
        rest, rest_literal = argv[1:], literal[1:]
        if name in _ALWAYS_OK:
            return frozenset({OK})
        if name == "false":
            return frozenset({FAIL})
        if name == "exit":
            if not rest:
                return _EXITS
            if rest_literal[0] and rest[0].lstrip("-").isdigit():
                return frozenset({EXIT_OK if int(rest[0]) % 256 == 0 else EXIT_FAIL})
            return _EXITS
        if name == "curl":
            calls = parse_curl(rest)
            self.curl_calls += calls
            for call in calls:
                self.urls += call.urls
            return frozenset({FAIL}) if calls and all(c.fails_on_http_error for c in calls) else _MAYBE
        if name in _SHELLS or (name == "busybox" and rest[:1] == ["sh"]):
            if name == "busybox":
                rest, rest_literal = rest[1:], rest_literal[1:]
            for k, arg in enumerate(rest):
                if arg.startswith("-") and "c" in arg[1:] and not arg.startswith("--"):
                    if k + 1 < len(rest):
                        return _subshell(self.line(rest[k + 1], depth + 1))
                    break
            return _MAYBE
        if name == "eval":
            return self.line(" ".join(rest), depth + 1)
        if name == "exec":
            inner = self.run(rest, rest_literal, depth)
            return frozenset({EXIT_OK if o in (OK, EXIT_OK) else EXIT_FAIL for o in inner})
        if name in ("command", "nohup", "builtin"):
            return self.run(rest, rest_literal, depth)
        if name == "env":
            k = 0
            while k < len(rest) and (rest[k].startswith("-") or "=" in rest[k]):
                k += 2 if rest[k] in ("-u", "--unset", "-C", "--chdir", "-S") else 1
            return _subshell(self.run(rest[k:], rest_literal[k:], depth))
        if name in ("timeout", "nice", "busybox", "stdbuf", "xargs"):
            k = 0
            while k < len(rest) and rest[k].startswith("-"):
                k += 2 if rest[k] in ("-n", "-s", "-k", "--signal", "--kill-after", "-i", "-o", "-e") else 1
            if name == "timeout":
                k += 1  # the duration
            return _subshell(self.run(rest[k:], rest_literal[k:], depth)) | frozenset({FAIL})
        return _MAYBE


def _command_name(node: Any) -> str | None:
    if node.kind != "command":
        return None
    words = [p for p in node.parts if p.kind == "word"]
    return words[0].word.rsplit("/", 1)[-1] if words and _literal(words[0]) else None


def _children(node: Any) -> Iterator[Any]:
    for attr in ("parts", "list"):
        for child in getattr(node, attr, None) or ():
            if hasattr(child, "kind") and child.kind not in ("reservedword", "operator", "pipe", "word"):
                yield child


def _substitutions(node: Any) -> Iterator[Any]:
    """`$(...)` and backtick commands inside a word, an assignment or a redirection."""
    if node.kind in ("commandsubstitution", "processsubstitution"):
        yield node.command
        return
    for attr in ("parts", "output"):
        value = getattr(node, attr, None)
        children: Iterable[Any] = value if isinstance(value, list) else [value] if value is not None else []
        for child in children:
            if hasattr(child, "kind"):
                yield from _substitutions(child)


def _literal(word: Any) -> bool:
    return not any(p.kind in ("parameter", "commandsubstitution", "processsubstitution") for p in word.parts or ())


def _subshell(outcome: frozenset[str]) -> frozenset[str]:
    """An `exit` inside a subshell ends only the subshell."""
    return frozenset({OK if o == EXIT_OK else FAIL if o == EXIT_FAIL else o for o in outcome})


def _then(first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
    return (first & _EXITS) | (second if first - _EXITS else frozenset())


def _and(first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
    return (first & (_EXITS | {FAIL})) | (second if OK in first else frozenset())


def _or(first: frozenset[str], second: frozenset[str]) -> frozenset[str]:
    return (first & (_EXITS | {OK})) | (second if FAIL in first else frozenset())


def read_shell_line(shell_line: str) -> ShellLine:
    """Parse a CMD-SHELL line: its curl calls, the URLs it names, and whether it can fail."""
    walk = _Walk()
    outcomes = walk.line(shell_line, 0)
    return ShellLine(
        curl_calls=tuple(walk.curl_calls),
        urls=tuple(dict.fromkeys(walk.urls)),
        outcomes=outcomes,
        problems=tuple(dict.fromkeys(walk.problems)),
    )


def command_problems(shell_line: str) -> list[str]:
    """Why a custom health command cannot be trusted to catch a broken server, or [] if it can."""
    line = read_shell_line(shell_line)
    problems = list(line.problems)
    for call in line.curl_calls:
        problems += call.problems
        if not call.fails_on_http_error:
            problems.append(
                f"runs `{call.text}` without -f/--fail, so it passes on HTTP 404/500; add -f (for example curl -fsS)"
                if call.args
                else "runs curl without -f/--fail, so it passes on HTTP 404/500; add -f (for example curl -fsS)"
            )
    if not line.problems and not line.can_fail:
        problems.append(
            "can never fail: its exit status is 0 whatever the server answers "
            "(for example `|| exit 0`, `|| true` or `; true`), so a broken server stays HEALTHY"
        )
    return list(dict.fromkeys(problems))


def curl_calls(shell_line: str) -> list[CurlCall] | None:
    """Every curl transfer in the line, or None if the line cannot be parsed."""
    line = read_shell_line(shell_line)
    if any(p.startswith("cannot be parsed") for p in line.problems):
        return None
    return list(line.curl_calls)

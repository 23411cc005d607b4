"""Read a custom health-check shell line the way `/bin/sh -c` will run it.

`curl URL` exits 0 on HTTP 404/500, so a custom command that runs curl without
-f/--fail passes on a broken server. Checking the first word of the line is not
enough (the notes' bug comes back through `sh -c '...'`, backticks, `if`, or an
option that eats the next word, as in `-o -f`), so the line is parsed with
tree-sitter's bash grammar (`tree-sitter` and `tree-sitter-bash`, both MIT; the
grammar is loaded on the first parse), every command in it is found (inside
`sh -c`, `eval`, command substitutions, `if`/`while` bodies and subshells too),
curl's own argument rules decide which words are options, and the exit status
of the whole line is followed through `||`, `&&`, `;`, pipes and `exit` to see
whether it can fail at all when the server is broken. tree-sitter recovers from
syntax errors; a line with any ERROR or MISSING node is refused as unparsable.

The loader refuses what this finds (`problems`); the linter reads `curl_calls`
(their --max-time) and `urls` (the ports the line probes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Language, Node

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
            names: list[tuple[str, str | None]] = [(name, None)]
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


# ---- the parser ------------------------------------------------------------------------------------

# Nodes that run something (a "statement" in tree-sitter-bash); everything else is part of a word.
_STATEMENTS = frozenset(
    """
    redirected_statement variable_assignment variable_assignments command declaration_command
    unset_command test_command negated_command for_statement c_style_for_statement while_statement
    if_statement case_statement pipeline list compound_statement subshell function_definition
    """.split()
)
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})
_EXPANSIONS = _SUBSTITUTIONS | {"simple_expansion", "expansion", "arithmetic_expansion"}
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
# Words that sh reads as a syntax error when they stand unquoted where a command name goes.
_MISPLACED = frozenset({"do", "done", "elif", "else", "esac", "fi", "then", "in", "}"})
# An opening token that the line ends inside, and what would have closed it.
_CLOSERS = {
    "if": "fi",
    "then": "fi",
    "elif": "fi",
    "else": "fi",
    "while": "done",
    "until": "done",
    "for": "done",
    "select": "done",
    "do": "done",
    "case": "esac",
    "{": "}",
    "(": ")",
    "((": "))",
    "[[": "]]",
}
_SUBSTITUTION_CLOSERS = {"$(": ")", "${": "}"}


@cache
def _bash() -> Language:
    """The grammar, loaded on the first parse: `import hubspec` stays fast."""
    import tree_sitter_bash
    from tree_sitter import Language

    return Language(tree_sitter_bash.language())


def _parse(text: str) -> tuple[Node, bytes]:
    from tree_sitter import Parser

    source = text.encode("utf-8", "replace")  # a lone surrogate becomes `?`
    return Parser(_bash()).parse(source).root_node, source


def _walk_tree(root: Node) -> Iterator[Node]:
    """Every node, in the order of the text (without recursion: a line may nest deeply)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def _syntax_error(root: Node, source: bytes, text: str) -> str | None:
    """Why sh would refuse the line, or None. tree-sitter recovers from errors, so its ERROR and
    MISSING nodes are the parse errors; a few things it accepts but sh does not are checked here."""
    if root.has_error:
        quote = _unclosed_quote(text)
        if quote is not None:
            return f"unexpected EOF while looking for matching {quote!r}"
    for node in _walk_tree(root):
        if node.is_missing:
            return f"unexpected EOF while looking for matching {node.type!r}" if not node.is_named else "unexpected EOF"
        if node.is_error:
            leaves = [n for n in _walk_tree(node) if not n.children and n.end_byte > n.start_byte]
            if not leaves:
                return "unexpected EOF"
            first = _text(leaves[0])
            if first in _CLOSERS and node.end_byte >= len(source.rstrip()):
                return f"unexpected EOF while looking for matching {_CLOSERS[first]!r}"
            return f"unexpected token {first!r}"
        if node.type == "command_name" and node.children and node.children[0].type == "word":
            word = _text(node.children[0])
            if word in _MISPLACED:
                return f"unexpected token {word!r}"
        if node.type == ";;" and (node.parent is None or node.parent.type != "case_item"):
            return "unexpected token ';;'"
        if node.type == "negated_command" and node.parent is not None and node.parent.type == "pipeline":
            if node != node.parent.named_children[0]:  # `a | ! b`
                return "unexpected token '!'"
    return None


def _unclosed_quote(text: str) -> str | None:
    """The closing quote (or `)`, `}`) the line ends without, read as sh reads quotes."""
    closers: list[str] = []
    i = 0
    while i < len(text):
        closer = closers[-1] if closers else None
        char = text[i]
        if closer == "'":
            if char == "'":
                closers.pop()
            i += 1
            continue
        if char == "\\":
            i += 2
            continue
        if char == closer and closer in '"`)}':
            closers.pop()
            i += 1
            continue
        opener = next((o for o in ("$(", "${") if text.startswith(o, i)), None)
        if opener is not None:
            closers.append(_SUBSTITUTION_CLOSERS[opener])
            i += len(opener)
            continue
        if char == "`" or (char in "'\"" and closer != '"'):
            closers.append(char)
        elif char == "(" and closer == ")":
            closers.append(")")
        elif char == "#" and closer != '"' and (i == 0 or text[i - 1] in " \t;&|()"):
            break  # a comment runs to the end of the line
        i += 1
    return closers[-1] if closers else None


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


# ---- the walk ----------------------------------------------------------------------------------


@dataclass
class _Walk:
    curl_calls: list[CurlCall] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def line(self, text: str, depth: int) -> frozenset[str]:
        if depth > _NEST_LIMIT:
            self.problems.append(f"nests shells more than {_NEST_LIMIT} deep")
            return _MAYBE
        root, source = _parse(text)
        reason = _syntax_error(root, source, text)
        if reason is not None:
            self.problems.append(f"cannot be parsed as a shell line ({reason})")
            return _MAYBE
        self.urls += _URL_IN_TEXT.findall(text)
        return self.statements(root.children, depth)

    # ---- nodes ---------------------------------------------------------------------------------

    def statements(self, children: Sequence[Node], depth: int) -> frozenset[str]:
        """Statements run one after the other (`;`, a newline); `&` puts the one before it in the background."""
        results: list[frozenset[str]] = []
        for child in children:
            if child.type == "&" and results:
                results[-1] = frozenset({OK})  # a background job's status is not the line's
            elif child.is_named and child.type != "comment":
                results.append(self.node(child, depth))
        outcome = frozenset({OK})
        for result in results:
            outcome = _then(outcome, result)
        return outcome

    def node(self, node: Node, depth: int) -> frozenset[str]:
        kind = node.type
        if kind == "list":  # a && b, a || b (left-associative, so `a || b && c` is `(a || b) && c`)
            return self.and_or(node, depth)
        if kind == "pipeline":
            return self.pipeline(node, depth)
        if kind == "negated_command":
            return self.pipeline(node, depth)
        if kind == "compound_statement":
            return self.statements(node.children, depth)
        if kind == "subshell":
            return _subshell(self.statements(node.children, depth))
        if kind == "if_statement":
            return self.if_node(node, depth)
        if kind == "redirected_statement":
            body = node.child_by_field_name("body")
            found = self.substitutions([c for c in node.named_children if c != body], depth)
            if body is None:  # only redirections
                return _MAYBE if found else frozenset({OK})
            return self.node(body, depth)
        if kind == "command":
            return self.command(node, depth)
        if kind in ("variable_assignment", "variable_assignments"):
            return _MAYBE if self.substitutions([node], depth) else frozenset({OK})
        if kind in ("declaration_command", "unset_command", "test_command"):
            self.substitutions([node], depth)
            return _MAYBE
        # while/until/for/case/function: walk for curl calls; their status is not followed.
        self.walk_only(node, depth)
        return _MAYBE | frozenset({OK})

    def walk_only(self, node: Node, depth: int) -> None:
        for child in node.named_children:
            if child.type in _STATEMENTS:
                self.node(child, depth)
            elif child.type in _SUBSTITUTIONS:
                self.statements(child.children, depth)
            else:
                self.walk_only(child, depth)

    def substitutions(self, nodes: Sequence[Node], depth: int) -> bool:
        """Walk the `$(...)`, backtick and `<(...)` commands inside these words; whether there were any."""
        found = False
        for node in nodes:
            for sub in _substitutions(node):
                found = True
                self.statements(sub.children, depth)
        return found

    def and_or(self, node: Node, depth: int) -> frozenset[str]:
        outcome: frozenset[str] | None = None
        pending: str | None = None
        for child in node.children:
            if child.type in ("&&", "||"):
                pending = child.type
            elif child.is_named and child.type != "comment":
                result = self.node(child, depth)
                if outcome is None:
                    outcome = result
                elif pending == "&&":
                    outcome = _and(outcome, result)
                else:
                    outcome = _or(outcome, result)
        return outcome if outcome is not None else frozenset({OK})

    def pipeline(self, node: Node, depth: int) -> frozenset[str]:
        """Also `! a`; tree-sitter puts `!` on the first stage of `! a | b`, sh on the whole pipeline."""
        stages = [c for c in node.named_children if c.type != "comment"]
        negate = node.type == "negated_command"
        if not negate and stages and stages[0].type == "negated_command":
            negate = True
            stages[0:1] = [c for c in stages[0].named_children if c.type != "comment"]
        last: frozenset[str] = frozenset({OK})
        for k, stage in enumerate(stages):
            last = _subshell(self.node(stage, depth))  # every stage runs in a subshell
            if k > 0 and _command_name(stage) in _FILTERS:
                last = frozenset({OK})
        return _negate(last) if negate else last

    def if_node(self, node: Node, depth: int) -> frozenset[str]:
        """if C; then T; [elif C; then T;]... [else E;] fi"""
        branches: list[tuple[list[Node], list[Node]]] = []  # (condition, body)
        otherwise: list[Node] | None = None
        for part in [node, *(c for c in node.named_children if c.type in ("elif_clause", "else_clause"))]:
            if part.type == "else_clause":
                otherwise = list(part.children)
                continue
            condition: list[Node] = []
            body: list[Node] = []
            target = condition
            for child in part.children:
                if child.type == "then":
                    target = body
                elif child.type not in ("elif_clause", "else_clause"):
                    target.append(child)
            branches.append((condition, body))
        outcome: set[str] = set()
        reaching = True  # the current condition runs
        for condition, body in branches:
            cond = self.statements(condition, depth)
            result = self.statements(body, depth)
            if reaching:
                outcome |= cond & _EXITS
                if OK in cond:
                    outcome |= result
                reaching = FAIL in cond
        if otherwise is not None:
            result = self.statements(otherwise, depth)
            if reaching:
                outcome |= result
        elif reaching:
            outcome.add(OK)
        return frozenset(outcome) or frozenset({OK})

    def command(self, node: Node, depth: int) -> frozenset[str]:
        words: list[Node] = []
        has_substitution = self.substitutions(node.named_children, depth)
        for part in node.named_children:
            if part.type == "command_name":
                words += part.named_children[:1]
            elif part.type not in _REDIRECTS and part.type not in ("variable_assignment", "comment"):
                words.append(part)
        if not words:  # only assignments and redirections
            return _MAYBE if has_substitution else frozenset({OK})
        return self.run([_value(w) for w in words], [_literal(w) for w in words], depth)

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
        if name == "time":  # a reserved word in bash, a program elsewhere: `time [-p] command`
            k = 0
            while k < len(rest) and rest[k].startswith("-"):
                k += 1
            return self.run(rest[k:], rest_literal[k:], depth)
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


def _command_name(node: Node) -> str | None:
    """The literal name of a simple command (`cat` in `cat >/dev/null`), else None."""
    if node.type == "redirected_statement":
        body = node.child_by_field_name("body")
        return _command_name(body) if body is not None else None
    if node.type != "command":
        return None
    name = next((c for c in node.named_children if c.type == "command_name"), None)
    if name is None or not name.named_children or not _literal(name.named_children[0]):
        return None
    return _value(name.named_children[0]).rsplit("/", 1)[-1]


def _substitutions(node: Node) -> Iterator[Node]:
    """`$(...)`, backtick and `<(...)` commands inside a word, an assignment or a redirection."""
    if node.type in _SUBSTITUTIONS:
        yield node
        return
    for child in node.named_children:
        yield from _substitutions(child)


def _literal(word: Node) -> bool:
    """Whether the word's value is written out (no `$x`, `${x}`, `$(...)` or `$((...))` in it)."""
    return not any(n.type in _EXPANSIONS for n in _walk_tree(word))


_ANSI_C = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _value(word: Node) -> str:
    """A word as the command receives it: quotes removed, expansions left as written (`${PREFIX}`)."""
    kind = word.type
    text = _text(word)
    if kind == "word":
        return re.sub(r"\\(.)", r"\1", text.replace("\\\n", ""), flags=re.DOTALL)
    if kind == "raw_string":
        return text[1:-1]
    if kind == "ansi_c_string":  # $'...'
        return re.sub(
            r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)",
            lambda m: (
                chr(int(m[1][1:], 16))
                if m[1][0] == "x"
                else chr(int(m[1], 8))
                if m[1][0] in "01234567"
                else _ANSI_C.get(m[1], m[1])
            ),
            text[2:-1],
            flags=re.DOTALL,
        )
    if kind in ("string", "translated_string"):  # "...": only \$ \` \" \\ are escapes
        parts: list[str] = []
        for child in word.children:
            if child.type == '"':
                continue
            value = _text(child)
            parts.append(re.sub(r'\\([$`"\\])', r"\1", value) if child.type == "string_content" else value)
        return "".join(parts)
    if kind == "concatenation":
        return "".join(_value(c) if c.is_named else _text(c) for c in word.children)
    return text


def _negate(outcome: frozenset[str]) -> frozenset[str]:
    swap = {OK: FAIL, FAIL: OK}
    return frozenset(swap[o] for o in _subshell(outcome))


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
    try:
        outcomes = walk.line(shell_line, 0)
    except RecursionError:  # a line that nests deeper than Python's stack (it is at most 1024 characters)
        walk = _Walk(problems=["cannot be parsed as a shell line (it nests too deeply)"])
        outcomes = _MAYBE
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

"""How our own header fields are written on the wire: one clean line each once unfolded.

Pure. `email.policy.SMTP` refolds every header it writes: a `List-Unsubscribe: <https://…>`
longer than a line came out as RFC 2047 encoded words (`=?utf-8?q?=3Chttps…`), which mail
programs do not read as a link, so the one-click button vanished; subjects could start with a
folded blank line and had plain ASCII words encoded. `Prefolded` values carry their own folding,
which the policy uses as it is (an object with `name` and `fold` is written by calling `fold`):

- a URL header (`List-Unsubscribe`) or a fixed token is never encoded and never folded: RFC
  2369/8058 want `<https://…>` as it is, and a line may run to 998 characters;
- an unstructured text (`Subject`) is folded only between words, never before its first word;
  a word of plain printable ASCII is written as it is, and only runs of words with other
  characters become UTF-8 encoded words, each whole characters and at most 75 characters long,
  on lines of at most 76 (RFC 2047 section 2).
"""

from __future__ import annotations

from email.policy import Policy

MAX_LINE = 998  # RFC 5322 2.1.1, without CRLF
ENCODED_LINE = 76  # RFC 2047 2: a line with an encoded word
# Q-encoding keeps these as they are (RFC 2047 5(3), the strictest rule); a space is "_".
_Q_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


class Prefolded(str):
    """A header value that folds itself; str() is the unfolded, decoded value."""

    name: str
    lines: tuple[str, ...]

    def __new__(cls, name: str, value: str, lines: list[str]) -> Prefolded:
        self = super().__new__(cls, value)
        self.name = name
        self.lines = tuple(lines)
        return self

    def fold(self, *, policy: Policy) -> str:
        return policy.linesep.join(self.lines) + policy.linesep


def verbatim(name: str, value: str) -> Prefolded:
    """A header whose value must stay as it is (a URL in angle brackets, a fixed token): printable
    ASCII without spaces, on one line."""
    if not value or not all("!" <= c <= "~" for c in value):
        raise ValueError(f"{name} must be printable ASCII without spaces: {value!r}")
    line = f"{name}: {value}"
    if len(line) > MAX_LINE:
        raise ValueError(f"{name} is longer than a header line may be ({len(line)} characters)")
    return Prefolded(name, value, [line])


def unstructured(name: str, text: str) -> Prefolded:
    """A text header (Subject): words separated by single spaces, folded between words."""
    words = text.split()
    value = " ".join(words)
    budget = ENCODED_LINE - len(name) - 2  # an encoded word must fit on the first line too
    tokens: list[str] = []
    i = 0
    while i < len(words):
        if _plain(words[i], name):
            tokens.append(words[i])
            i += 1
            continue
        j = i
        while j < len(words) and not _plain(words[j], name):
            j += 1
        # Between two encoded words a space is not shown, so a run keeps its spaces inside.
        tokens += _encoded_words(" ".join(words[i:j]), budget)
        i = j
    lines: list[str] = []
    line = f"{name}:"
    for k, token in enumerate(tokens):
        # The first word stays on the first line: a fold there would leave "Subject:" blank.
        if k and len(line) + 1 + len(token) > ENCODED_LINE:
            lines.append(line)
            line = ""
        line += " " + token
    lines.append(line)
    return Prefolded(name, value, lines)


def _plain(word: str, name: str) -> bool:
    """Whether a word can be written as it is: printable ASCII, nothing a mail program could read
    as the start of an encoded word, and short enough for a line of its own."""
    return (
        all("!" <= c <= "~" for c in word)
        and "=?" not in word
        and len(word) <= MAX_LINE - len(name) - 2
    )


def _encoded_words(text: str, budget: int) -> list[str]:
    """text as UTF-8 Q encoded words of at most `budget` characters, split between characters."""
    head, tail = "=?utf-8?q?", "?="
    room = min(budget, 75) - len(head) - len(tail)
    out: list[str] = []
    chunk = ""
    for c in text:
        enc = "_" if c == " " else c if c in _Q_SAFE else "".join(f"={b:02X}" for b in c.encode())
        if chunk and len(chunk) + len(enc) > room:
            out.append(head + chunk + tail)
            chunk = ""
        chunk += enc
    if chunk:
        out.append(head + chunk + tail)
    return out

"""Splitting T-SQL into statements, on sqlglot's tokens: what the reference check reads.

It sits after the render step (deployer.source.render), like the rest of the gate, and needs no
server. sqlglot 30 parses single T-SQL statements well but not control flow (IF/BEGIN/END blocks
swallow the statements after them, RETURN becomes a column), so a batch is split here into
simple statements and IF/WHILE conditions: blocks (BEGIN ... END, TRY/CATCH, ELSE) are
flattened, and the header of CREATE PROCEDURE / FUNCTION / VIEW / TRIGGER up to its AS is
dropped, so a routine's body comes out as the statements it runs.

Users: the schema model (tools.tsql_gate.schema) finds CREATE TABLE statements with it, the
reference check (tools.tsql_gate.references) checks each DML statement it yields, and the syntax
gate (tools.tsql_gate.parse) uses it to point at the statement inside a block sqlfluff rejects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot.dialects.tsql import TSQL
from sqlglot.tokens import Token, TokenType

DML_START = {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH"}
_DML_VERBS = {"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"}
# Words that begin a T-SQL statement (or a block). Inside a statement, at parenthesis depth 0 and
# outside CASE ... END, one of them means the statement ended without a semicolon.
_STATEMENT_WORDS = {
    "BEGIN", "END", "ELSE", "IF", "WHILE", "DECLARE", "SET", "EXEC", "EXECUTE", "PRINT", "RETURN",
    "RAISERROR", "THROW", "BREAK", "CONTINUE", "GOTO", "WAITFOR", "TRUNCATE", "CREATE", "ALTER",
    "DROP", "COMMIT", "ROLLBACK", "SAVE", "OPEN", "FETCH", "CLOSE", "DEALLOCATE", "USE", "GRANT",
    "DENY", "REVOKE", "RECONFIGURE",
}
PERMISSION_WORDS = {"GRANT", "DENY", "REVOKE"}  # their permission lists name SELECT, INSERT ...
_ROUTINES = {"PROCEDURE", "PROC", "FUNCTION", "VIEW", "TRIGGER"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _StatementTokenizer(TSQL.Tokenizer):
    # sqlglot turns everything after a statement-initial "command" word (PRINT, END, FETCH ...) up
    # to the next ';' into one string token. `END ELSE BEGIN SELECT ...` would then hide the
    # SELECT; the splitter has to see every token.
    COMMANDS: set[TokenType] = set()


@dataclass
class Statement:
    """One simple statement of a batch, or the condition of an IF/WHILE."""

    sql: str  # the whole batch
    tokens: list[Token]
    condition: bool = False

    @property
    def text(self) -> str:
        return self.sql[self.tokens[0].start: self.tokens[-1].end + 1]

    @property
    def line(self) -> int:
        return self.tokens[0].line

    @property
    def first(self) -> str | None:
        """The statement's first word (after any opening parentheses)."""
        for index, token in enumerate(self.tokens):
            if token.token_type != TokenType.L_PAREN:
                return word_at(self.sql, self.tokens, index)
        return None

    def words(self) -> list[str | None]:
        return [word_at(self.sql, self.tokens, i) for i in range(len(self.tokens))]


def word_at(sql: str, tokens: Sequence[Token], index: int) -> str | None:
    """The upper-cased keyword-like word at tokens[index], or None.

    Quoted identifiers ([Select]), strings, variables (@select), temp names (#select) and members
    (t.Select) are never words, whatever their text.
    """
    token = tokens[index]
    raw = sql[token.start: token.end + 1]
    if raw != token.text or not _WORD.fullmatch(raw):
        return None
    if index > 0:
        previous = tokens[index - 1]
        if previous.end + 1 == token.start and previous.token_type in (TokenType.PARAMETER, TokenType.HASH, TokenType.DOT):
            return None
    return raw.upper()


def tokenize(sql: str) -> list[Token]:
    return _StatementTokenizer(dialect="tsql").tokenize(sql)


def split_statements(sql: str) -> list[Statement]:
    """The simple statements and IF/WHILE conditions of one batch, in order.

    Blocks (BEGIN ... END, TRY/CATCH, ELSE) are flattened, and the header of CREATE PROCEDURE /
    FUNCTION / VIEW / TRIGGER up to its AS is dropped, so a routine's body comes out as the
    statements it runs.
    """
    tokens = tokenize(sql)
    words = [word_at(sql, tokens, i) for i in range(len(tokens))]
    statements: list[Statement] = []
    i, n = 0, len(tokens)
    while i < n:
        word, following = words[i], (words[i + 1] if i + 1 < n else None)
        if tokens[i].token_type == TokenType.SEMICOLON:
            i += 1
        elif word == "BEGIN" and following in ("TRY", "CATCH"):
            i += 2
        elif word == "BEGIN" and following not in ("TRAN", "TRANSACTION", "DISTRIBUTED", "DIALOG", "CONVERSATION"):
            i += 1
        elif word == "END" and following in ("TRY", "CATCH"):
            i += 2
        elif (word == "END" and following != "CONVERSATION") or word == "ELSE":
            i += 1
        elif word is not None and i + 1 < n and tokens[i + 1].token_type == TokenType.COLON:
            i += 2  # a GOTO label
        elif word in ("IF", "WHILE"):
            end = _condition_end(tokens, words, i + 1)
            if end > i + 1:
                statements.append(Statement(sql, tokens[i + 1: end], condition=True))
            i = end
        elif word in ("CREATE", "ALTER") and _routine_header(words, i):
            i = _header_end(tokens, words, i)
        else:
            end = _statement_end(tokens, words, i)
            statements.append(Statement(sql, tokens[i:end]))
            i = end
    return statements


def _routine_header(words: list[str | None], i: int) -> bool:
    rest = words[i + 1: i + 4]
    if rest[:2] == ["OR", "ALTER"]:
        rest = rest[2:]
    return bool(rest) and rest[0] in _ROUTINES


def _header_end(tokens: list[Token], words: list[str | None], i: int) -> int:
    """The index after the AS that ends a routine header (not EXECUTE AS, not `@p AS type`)."""
    depth = 0
    for j in range(i, len(tokens)):
        kind = tokens[j].token_type
        depth += kind == TokenType.L_PAREN
        depth -= kind == TokenType.R_PAREN
        if depth == 0 and words[j] == "AS" and j > 0:
            previous = words[j - 1]
            after_parameter = j > 1 and tokens[j - 2].token_type == TokenType.PARAMETER
            if previous not in ("EXEC", "EXECUTE") and not after_parameter:
                return j + 1
    return len(tokens)


def _scan(tokens: list[Token], words: list[str | None], i: int):
    """(index, kind, word, paren depth, CASE depth) of each token from i on, parentheses and
    CASE ... END themselves left out: what the end-of-clause searches below look at."""
    depth = case = 0
    for j in range(i, len(tokens)):
        kind, word = tokens[j].token_type, words[j]
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
        elif word == "CASE":
            case += 1
        elif word == "END" and case:
            case -= 1
        else:
            yield j, kind, word, depth, case


def _condition_end(tokens: list[Token], words: list[str | None], i: int) -> int:
    for j, kind, word, depth, case in _scan(tokens, words, i):
        if depth == 0 and not case and (
            kind == TokenType.SEMICOLON or word in _STATEMENT_WORDS or word in DML_START
        ):
            return j
    return len(tokens)


def _statement_end(tokens: list[Token], words: list[str | None], i: int) -> int:
    first = words[i]
    if first is None:
        first = next((w for t, w in zip(tokens[i:], words[i:]) if t.token_type != TokenType.L_PAREN), None)
    for j, kind, word, depth, case in _scan(tokens, words, i):
        if depth == 0 and kind == TokenType.SEMICOLON:
            return j
        if j > i and depth == 0 and not case and word and _ends(first, word):
            return j
    return len(tokens)


def _ends(first: str | None, word: str) -> bool:
    """Whether `word`, at depth 0 inside a statement that began with `first`, starts a new one."""
    if first in PERMISSION_WORDS:
        return word in ("BEGIN", "END", "ELSE")
    if word == "SET":
        return first not in ("UPDATE", "MERGE", "WITH")
    if word in ("EXEC", "EXECUTE"):
        return first != "INSERT"  # INSERT ... EXEC
    if word == "FETCH":
        return first not in DML_START  # OFFSET ... FETCH NEXT
    if word in _DML_VERBS:
        # DML cannot follow DML without a ';' we could see; sqlglot reports such a statement
        return first not in DML_START
    return word in _STATEMENT_WORDS


def subqueries(statement: Statement) -> list[str]:
    """The outermost `(SELECT ...)` / `(WITH ...)` groups of a statement, as text."""
    tokens, words, sql = statement.tokens, statement.words(), statement.sql
    found, j = [], 0
    while j < len(tokens):
        if tokens[j].token_type == TokenType.L_PAREN and j + 1 < len(tokens) and words[j + 1] in ("SELECT", "WITH"):
            depth, k = 0, j
            while k < len(tokens):
                depth += tokens[k].token_type == TokenType.L_PAREN
                depth -= tokens[k].token_type == TokenType.R_PAREN
                if depth == 0:
                    break
                k += 1
            end = tokens[min(k, len(tokens) - 1)].start
            found.append(sql[tokens[j + 1].start: end])
            j = k + 1
        else:
            j += 1
    return found


def paren_depth(tokens: list[Token], index: int) -> int:
    """How many parentheses are open before tokens[index]."""
    depth = 0
    for token in tokens[:index]:
        depth += token.token_type == TokenType.L_PAREN
        depth -= token.token_type == TokenType.R_PAREN
    return depth

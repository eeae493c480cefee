"""Cells a spreadsheet would run as a formula are written as text (OWASP "CSV injection").

Every CSV the portal writes passes its text cells through ``spreadsheet_safe``. A cell is
neutralised, by a leading ``'`` that spreadsheets show as text, when it starts with
``= + - @``, a tab or a carriage return, with their full-width and small forms (``＝1+2``
is how a Chinese input method types a formula, and spreadsheets accept it), or with any
of them after leading whitespace or invisible characters, which spreadsheets skip.
"""

import unicodedata

FORMULA_STARTS = frozenset("=+-@")
CONTROL_STARTS = ("\t", "\r")


def _skipped(ch: str) -> bool:
    # Whitespace (the ideographic space too) and format characters such as U+200B and the
    # byte-order mark, which a spreadsheet drops before it reads the cell.
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def spreadsheet_safe(text: str) -> str:
    """``text``, or ``'`` + ``text`` when a spreadsheet could take it for a formula."""
    if text.startswith(CONTROL_STARTS):
        return "'" + text
    for ch in text:
        if _skipped(ch):
            continue
        # NFKC folds ＝ ＋ － ＠ and the small forms ﹦ ﹢ ﹣ ﹫ into their ASCII characters.
        if unicodedata.normalize("NFKC", ch) in FORMULA_STARTS:
            return "'" + text
        break
    return text

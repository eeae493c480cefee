"""Formula injection in every CSV the portal writes (OWASP "CSV injection").

A cell a spreadsheet would run as a formula gets a leading ``'``: the ASCII starts, their
full-width forms as a Chinese input method types them, and any of them after spaces.
Checked on the rule itself and on the access copy's CSV files, the portal's CSV writer.
"""

import csv
import io

import pytest

from privacyportal.csvsafe import spreadsheet_safe
from requests import access_copy
from tests.requests.test_access_copy import in_progress_copy, read_zip, user_with_data

DANGEROUS = [
    "=1+2",
    "＝1+2",  # full-width equals sign, as a Chinese input method types it
    " =1+2",
    "\u3000＝1+2",  # after an ideographic space
    "\u200b=1+2",  # after a zero-width space
    "@SUM(A1)",
    "＠SUM(A1)",
    "-1+1",
    "－1+1",
    "+8613800138000",
    "＋1",
    "﹦1+2",  # the small form
    "\t=1",
    "\r=1",
    "\tharmless",  # a leading tab is a start of its own
]
HARMLESS = ["隐私政策", "a=b", "1+2", "Ming", "", "e-mail", "'=already text"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_a_cell_that_could_run_as_a_formula_is_written_as_text(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", HARMLESS)
def test_a_harmless_cell_is_left_alone(text):
    assert spreadsheet_safe(text) == text


def test_the_access_copy_cells_go_through_the_rule():
    assert access_copy.csv_cell("＝1+2") == "'＝1+2"
    assert access_copy.csv_cell(" =1+2") == "' =1+2"
    assert access_copy.csv_cell(-1) == "-1"  # a number is a number, not a formula


@pytest.mark.django_db(transaction=True)
def test_the_access_copy_csv_files_hold_no_formula(media_root):
    user = user_with_data(nickname=" =1+2", searches=("＝1+2", "@SUM(A1)", "-1+1", "隐私政策"))
    user.language = "en"  # the copy's columns are the field labels in the user's language
    user.save(update_fields=["language"])
    copy = in_progress_copy(user)
    access_copy.build_access_copy(copy.pk)
    copy.refresh_from_db()
    files = read_zip(copy)

    def table(code):
        text = files[f"{code}.csv"].decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]

    assert table("account")[0]["Nickname"] == "' =1+2"
    searches = {
        row["Search or page"] for row in table("browsing_records") if row["Kind (code)"] == "search"
    }
    assert searches == {"'＝1+2", "'@SUM(A1)", "'-1+1", "隐私政策"}
    # The JSON files keep the values as they are.
    assert '"＝1+2"' in files["browsing_records.json"].decode("utf-8")

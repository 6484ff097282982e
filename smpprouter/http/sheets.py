"""A user's coverage (routing/coverage.py) as the files the APIs serve: CSV and XLSX.

Both have the same columns: the destination prefix as digits (text, so a
spreadsheet keeps a leading digit string as written and "" reads "other"),
whether it is covered, and the price per message part in the router's minor
unit (the unit of routes.toml's prices; blank when not covered, 0 when the
route is not priced). The XLSX is written by XlsxWriter, in memory.
"""

import csv
import io

import xlsxwriter

HEADER = ("prefix", "covered", "price_per_part")
OTHER = "other"        # the row for every destination no listed prefix matches
CSV_TYPE = b"text/csv; charset=utf-8"
XLSX_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cells(row):
    """(prefix, covered, price) as the files show them."""
    price = (row.price or 0) if row.covered else None
    return (row.prefix or OTHER, "yes" if row.covered else "no", price)


def coverage_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")   # RFC 4180
    writer.writerow(HEADER)
    for row in rows:
        prefix, covered, price = cells(row)
        writer.writerow((prefix, covered, "" if price is None else price))
    return out.getvalue().encode("utf-8")


def coverage_xlsx(rows, user="") -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("coverage")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, HEADER, bold)
    for n, row in enumerate(rows, 1):
        prefix, covered, price = cells(row)
        sheet.write_string(n, 0, prefix)
        sheet.write_string(n, 1, covered)
        if price is not None:
            sheet.write_number(n, 2, price)
    sheet.set_column(0, 0, 14)
    sheet.set_column(2, 2, 16)
    if user:
        book.set_properties({"title": "coverage of %s" % user})
    book.close()
    return out.getvalue()


def filename(user, extension) -> bytes:
    """The attachment's name: coverage-<user>.<ext>, only safe characters."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in user)
    return ("coverage-%s.%s" % (safe or "user", extension)).encode("ascii")

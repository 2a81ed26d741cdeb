"""sniff_format: the one mapping from a path to its table format (CSV, Parquet or none)."""

from __future__ import annotations

import pytest

from agnostic_xai.io._formats import TableFormat, sniff_format, table_suffix


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rows.csv", TableFormat("csv", ".csv", ",", False)),
        ("rows.CSV.GZ", TableFormat("csv", ".csv.gz", ",", True)),
        ("rows.tsv", TableFormat("csv", ".tsv", "\t", False)),
        ("a.b.tsv.gz", TableFormat("csv", ".tsv.gz", "\t", True)),
        ("rows.parquet", TableFormat("parquet", ".parquet")),
        ("rows.Pq", TableFormat("parquet", ".pq")),
    ],
)
def test_sniff_format_reads_the_suffix(tmp_path, name, expected):
    assert sniff_format(tmp_path / name) == expected  # the file need not exist


def test_a_directory_is_a_parquet_dataset_and_other_suffixes_are_none(tmp_path):
    assert sniff_format(tmp_path) == TableFormat("parquet", "")
    assert sniff_format(tmp_path / "rows.xlsx") is None
    assert table_suffix(tmp_path / "rows.XLSX") == ".xlsx"

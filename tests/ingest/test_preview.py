"""rapport.ingest.preview: what an import would read, before anything is written."""

from __future__ import annotations

from pathlib import Path

from rapport.config import Settings
from rapport.errors import ValidationFailed
from rapport.ingest.preview import SAMPLE_ROWS, preview_file

SETTINGS = Settings(_env_file=None)


def _gbk(tmp_path: Path, text: str, name: str = "客户.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("gbk"))
    return path


def test_a_gbk_file_with_chinese_headers_is_previewed_with_its_mapping_and_problems(
    tmp_path: Path,
) -> None:
    rows = "".join(f"C{n:04d},客户{n},1380013{n:04d},c{n}@example.com,\n" for n in range(30))
    path = _gbk(
        tmp_path,
        "客户编号,姓名,手机,邮箱,爱好\n"
        "C9001,张伟,13800138000,zw@example.com,跑步\n"
        "C9002,李娜,12345,bad-mail,\n"
        ",王芳,13900139000,wf@example.com,\n" + rows,
    )
    preview = preview_file("customers", path, settings=SETTINGS)
    assert preview.format == "csv" and preview.delimiter == ","
    assert preview.encoding in ("gbk", "gb18030")
    assert preview.mapping == {
        "客户编号": "external_id",
        "姓名": "name",
        "手机": "phone",
        "邮箱": "email",
    }
    assert preview.unknown_columns == ["爱好"] and preview.importable
    assert len(preview.rows) == SAMPLE_ROWS
    assert preview.row_numbers[:3] == [2, 3, 4]
    assert preview.rows[0] == ["C9001", "张伟", "13800138000", "zw@example.com", "跑步"]
    found = {(p.row, p.column, p.rejects_row) for p in preview.problems}
    # a bad phone and e-mail are dropped with a warning; a missing key rejects the row
    assert found == {(3, "邮箱", False), (3, "手机", False), (4, "客户编号", True)}
    # a row the reader cannot split is a problem of the sample, and the sample reads on
    cut = _gbk(
        tmp_path,
        "客户编号,姓名\nC1,甲\nC2,乙,多余\n" + "".join(f"D{n},丙\n" for n in range(20)),
        "cut.csv",
    )
    split = preview_file("customers", cut, settings=SETTINGS)
    assert len(split.rows) == SAMPLE_ROWS and split.row_numbers[:3] == [2, 4, 5]
    assert [(p.row, p.column, p.rejects_row) for p in split.problems] == [(3, "*", True)]
    cut.unlink()
    # nothing was written next to the file (no reject or warning files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["客户.csv"]


def test_columns_that_cannot_be_mapped_are_said_with_the_sample_still_shown(
    tmp_path: Path,
) -> None:
    path = _gbk(tmp_path, "编号,备注\n1,甲\n")
    preview = preview_file("customers", path, settings=SETTINGS)
    assert not preview.importable
    assert isinstance(preview.mapping_error, ValidationFailed)
    assert "required field" in preview.mapping_error.message
    assert preview.rows == [["1", "甲"]] and preview.problems == []

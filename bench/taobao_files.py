"""Taobao-style GBK CSV files as the import benchmarks and the import tests build them: one
writer and one product layout (the 淘宝助理 product export's columns Kefu reads)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

# The product export's columns, in its order: title, category, price, stock, who pays the
# shipping, picture, seller's code, product id and the sub-account in charge.
PRODUCT_HEADERS = [
    "宝贝名称",
    "宝贝类目",
    "宝贝价格",
    "宝贝数量",
    "运费承担",
    "宝贝图片",
    "商家编码",
    "宝贝ID",
    "负责客服",
]


def write_gbk_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    """A CSV in GBK, the encoding Taobao's and 淘宝助理's exports are saved in; rows stream."""
    with path.open("w", encoding="gbk", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path

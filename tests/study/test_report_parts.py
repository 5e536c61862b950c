"""Pieces of the reproduction report: the article's uncertainty, the side-by-side frame, the HTML page,
and the article's published values shipped as data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lvsdctl.study.html import markdown_to_html
from lvsdctl.study.published import published
from lvsdctl.study.side_by_side import Z, _count_se, article_values, hanley_mcneil_se, side_by_side


def test_hanley_mcneil_matches_their_published_example():
    # Hanley & McNeil (1982), CT ratings: 58 normal, 51 abnormal, area 0.893, SE 0.032 from the data's own
    # Q1, Q2; their exponential approximation (what lvsdctl uses, having only the counts) gives 0.0325.
    assert hanley_mcneil_se(0.893, 51, 58) == pytest.approx(0.032, abs=0.001)
    assert math.isnan(hanley_mcneil_se(0.8, 0, 10))


def test_count_se_agrees_with_the_binomial_formula():
    m = {"tp": 300, "fn": 100, "fp": 150, "tn": 450}
    se = _count_se(m, draws=4000)
    acc = 0.75
    assert se["accuracy"] == pytest.approx(math.sqrt(acc * (1 - acc) / 1000), rel=0.1)
    assert se["sensitivity"] == pytest.approx(math.sqrt(0.75 * 0.25 / 400), rel=0.15)


def test_side_by_side_against_the_audited_article():
    from lvsdctl.stats import audit
    from lvsdctl.stats.audit_readings import corrected_table

    pub = published()
    r = audit(pub.table2(), pub.sizes())
    art = article_values(pub, r, corrected_table(pub.table2(), r))
    row = art[(art.model == "SS-FF") & (art.set == "Ext. val 1") & (art.metric == "npv")].iloc[0]
    assert row["value"] == pytest.approx(0.860) and "printed 0.623" in row["note"]
    assert 0.03 < row["se"] < 0.08  # from the 39/7/26/43 matrix the audit found
    site = pd.DataFrame([{"model": "ss-ff", "set": s, "metric": "npv", "value": 0.8, "ci_low": 0.7, "ci_high": 0.9}
                         for s in ("internal", "external1", "external2")]
                        + [{"model": "ss-ff", "set": "Average", "metric": "npv", "value": 0.8, "ci_low": np.nan,
                            "ci_high": np.nan}])
    sbs = side_by_side(site, art, pub)
    assert list(sbs["set"]) == ["Int. val", "Ext. val 1", "Ext. val 2", "Average"]
    ext1 = sbs.iloc[1]
    assert ext1["difference"] == pytest.approx(0.8 - 0.860)
    half = Z * math.hypot(0.1 / Z, ext1["article_se"])
    assert (ext1["diff_ci_low"], ext1["diff_ci_high"]) == pytest.approx((ext1["difference"] - half, ext1["difference"] + half))
    avg = sbs.iloc[3]  # the site's Average gets the CI of a mean of three independent sets
    assert avg["ci_high"] - avg["ci_low"] == pytest.approx(2 * Z * math.sqrt(3 * (0.1 / Z) ** 2) / 3)


def test_published_values_carry_their_citation():
    pub = published()
    assert pub.citation["doi"] == "10.1038/s41598-025-34911-6"
    assert pub.sizes()["Ext. val 1"] == (115, 45) and pub.sizes()["Int. val"] == (194, 68)
    assert pub.table3["rows"]["ECG-FM scratch"] == {"accuracy": 0.622, "auroc": 0.677}
    t2 = pub.table2()
    assert len(t2) == 6 * 4 * 8 and t2.loc[0, "value"] == "0.660"  # printed text, trailing zero kept
    assert set(pub.models.values()) <= set(__import__("lvsdctl.study.grid", fromlist=["MODELS"]).MODELS)


def test_html_escapes_text_and_renders_the_reports_markdown(tmp_path):
    md = ("# Title <script>\n\n> **SYNTHETIC DATA.** careful\n\n- one `code`\n- two\n\n| A | B |\n|---|---|\n"
          "| 1 | <b> |\n\n![fig](r_files/f.png)\n\nplain & simple\n")
    page = markdown_to_html(md, title="t", base=tmp_path / "html", md_base=tmp_path)
    assert "<h1>Title &lt;script&gt;</h1>" in page and "<script>" not in page
    assert "<blockquote><p><strong>SYNTHETIC DATA.</strong> careful</p></blockquote>" in page
    assert "<ul><li>one <code>code</code></li><li>two</li></ul>" in page
    assert "<td>&lt;b&gt;</td>" in page and "<th>A</th>" in page
    assert 'src="../r_files/f.png"' in page and "<p>plain &amp; simple</p>" in page

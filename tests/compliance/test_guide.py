from pathlib import Path

from kefu.compliance.corpus import evaluate
from kefu.compliance.packs import PACKS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "compliance.md"


def test_guide_lists_every_rule_with_its_texts():
    guide = GUIDE.read_text(encoding="utf-8")
    for rule in {r.code: r for p in PACKS.values() for r in p.rules}.values():
        assert f"`{rule.code}`" in guide
        for text in (rule.explanation, rule.alternative, rule.penalty.text):
            assert text.en in guide, (rule.code, text.en)
            assert text.zh in guide, (rule.code, text.zh)


def test_guide_quotes_the_current_scores():
    guide = GUIDE.read_text(encoding="utf-8")
    # the hold-out, the seven blind sets and the tuning file
    for split in (
        "tuning",
        "holdout",
        "blind13",
        "blind14",
        "blind15",
        "blind16",
        "blind17",
        "blind18",
        "blind19",
        "blind20",
    ):
        report = evaluate(split)
        assert f"#### {split} ({report.size} replies)" in guide
        for row in report.as_rows():
            line = (
                f"| `{row['code']}` | {row['support']} | {row['precision']:.3f} "
                f"| {row['recall']:.3f} |"
            )
            assert line in guide, line

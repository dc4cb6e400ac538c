import pytest

from leadml.config import PromotionConfig
from leadml.promotion import decide

CHAMPION = {"roc_auc": 0.85, "pr_auc": 0.30, "brier": 0.0060}


@pytest.mark.parametrize("challenger, rule, promote, why", [
    ({"roc_auc": 0.86, "pr_auc": 0.31, "brier": 0.0059}, PromotionConfig(), True, "beats the champion"),
    ({"roc_auc": 0.84, "pr_auc": 0.35, "brier": 0.0050}, PromotionConfig(), False, "roc_auc does not beat"),
    ({"roc_auc": 0.84, "pr_auc": 0.35, "brier": 0.0050}, PromotionConfig(metric="pr_auc"), True, "beats"),
    ({"roc_auc": 0.86, "pr_auc": 0.31, "brier": 0.0070}, PromotionConfig(), False, "calibration is worse"),
    ({"roc_auc": 0.86, "pr_auc": 0.31, "brier": 0.0070}, PromotionConfig(max_brier_increase=0.002), True, "beats"),
    ({"roc_auc": 0.855, "pr_auc": 0.31, "brier": 0.006}, PromotionConfig(min_improvement=0.01), False, "by 0.01"),
])
def test_promotion_rule_both_ways(challenger, rule, promote, why) -> None:
    decision = decide(challenger, CHAMPION, rule)
    assert decision.promote is promote and why in decision.reason
    assert f"{CHAMPION[rule.metric]:.4f}" in decision.reason  # the figures it was decided on are in the reason


def test_first_model_becomes_champion() -> None:
    decision = decide(CHAMPION, None, PromotionConfig())
    assert decision.promote and decision.reason == "no champion yet"

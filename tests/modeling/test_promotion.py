import pytest

from leadml.config import PromotionConfig
from leadml.modeling.promotion import decide

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


@pytest.mark.parametrize("challenger, age, rule, promote, why", [
    # 0.82 is 96.5% of the champion's 0.85: enough once the champion is older than the limit
    ({"roc_auc": 0.82, "pr_auc": 0.25, "brier": 0.0065}, 120.0, PromotionConfig(), True, "120 days old"),
    ({"roc_auc": 0.82, "pr_auc": 0.25, "brier": 0.0065}, 60.0, PromotionConfig(), False, "roc_auc does not beat"),
    ({"roc_auc": 0.80, "pr_auc": 0.25, "brier": 0.0065}, 120.0, PromotionConfig(), False, "less than 95%"),
    ({"roc_auc": 0.82, "pr_auc": 0.25, "brier": 0.0065}, 120.0, PromotionConfig(max_champion_age_days=None), False,
     "roc_auc does not beat"),
    ({"roc_auc": 0.80, "pr_auc": 0.25, "brier": 0.0065}, 40.0,
     PromotionConfig(max_champion_age_days=30, stale_champion_min_ratio=0.9), True, "reaches 94.1% of its roc_auc"),
    ({"roc_auc": 0.86, "pr_auc": 0.31, "brier": 0.0059}, 500.0, PromotionConfig(), True, "beats the champion"),
])
def test_an_old_champion_gives_way_to_a_close_challenger(challenger, age, rule, promote, why) -> None:
    decision = decide(challenger, CHAMPION, rule, champion_age_days=age)
    assert decision.promote is promote and why in decision.reason, decision.reason
    assert decision.champion_age_days == age and f"{challenger['roc_auc']:.4f}" in decision.reason

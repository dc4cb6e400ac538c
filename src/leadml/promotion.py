"""The champion gate: a new model replaces the champion only if it is better on the same rows."""

from __future__ import annotations

from dataclasses import dataclass

from leadml.config import PromotionConfig


@dataclass(frozen=True)
class Decision:
    """Whether the challenger becomes champion, and why, with the figures it was decided on."""

    promote: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None


def decide(challenger: dict[str, float], champion: dict[str, float] | None, rule: PromotionConfig) -> Decision:
    """Apply the promotion rule to metrics measured on the same evaluation rows."""
    if champion is None:
        return Decision(True, "no champion yet", challenger, None)
    metric = rule.metric
    gain = challenger[metric] - champion[metric]
    brier_change = challenger["brier"] - champion["brier"]
    figures = (f"{metric} {challenger[metric]:.4f} vs champion {champion[metric]:.4f}, "
               f"Brier {challenger['brier']:.5f} vs {champion['brier']:.5f}")
    if gain < rule.min_improvement:
        return Decision(False, f"{metric} does not beat the champion by {rule.min_improvement} ({figures})",
                        challenger, champion)
    if brier_change > rule.max_brier_increase:
        return Decision(False, f"calibration is worse than the champion's ({figures})", challenger, champion)
    return Decision(True, f"beats the champion ({figures})", challenger, champion)

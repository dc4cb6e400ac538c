"""The champion gate: a new model replaces the champion only if it has lift (``verdict``) and is better
than the champion on the same rows.

Or, when the champion has grown old (``max_champion_age_days``), if it comes close to it
(``stale_champion_min_ratio`` of the champion's metric): a model fitted on recent behaviour is
worth a little ranking power measured on a single cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from leadml.config import PromotionConfig
from leadml.modeling.verdict import Verdict


@dataclass(frozen=True)
class Decision:
    """Whether the challenger becomes champion, and why, with the figures it was decided on."""

    promote: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None
    champion_age_days: float | None = None
    lift: bool = True  # False: the model ranks no better than chance or a simple baseline, whatever the champion


def without_lift(decision: Decision, verdict: Verdict, rule: PromotionConfig, *, champion: str | None) -> Decision:
    """No lift, no champion: while ``rule.require_lift`` holds, a model whose verdict finds no lift is refused
    whatever the champion gate said, and the reason names the version that stays champion."""
    if verdict.lift or not rule.require_lift:
        return decision
    stays = f"the champion stays version {champion}" if champion else "no version is champion"
    return replace(decision, promote=False, lift=False, reason=f"{verdict.sentence}; {stays}")


def decide(challenger: dict[str, float], champion: dict[str, float] | None, rule: PromotionConfig,
           champion_age_days: float | None = None) -> Decision:
    """Apply the promotion rule to metrics measured on the same evaluation rows."""
    if champion is None:
        return Decision(True, "no champion yet", challenger, None, champion_age_days)
    metric = rule.metric
    gain = challenger[metric] - champion[metric]
    brier_change = challenger["brier"] - champion["brier"]
    figures = (f"{metric} {challenger[metric]:.4f} vs champion {champion[metric]:.4f}, "
               f"Brier {challenger['brier']:.5f} vs {champion['brier']:.5f}")
    if gain >= rule.min_improvement and brier_change <= rule.max_brier_increase:
        return Decision(True, f"beats the champion ({figures})", challenger, champion, champion_age_days)
    ratio = challenger[metric] / champion[metric] if champion[metric] else float("inf")
    old = (rule.max_champion_age_days is not None and champion_age_days is not None
           and champion_age_days > rule.max_champion_age_days)
    age = (f"the champion is {champion_age_days:.0f} days old (more than {rule.max_champion_age_days}) and the "
           f"challenger reaches {ratio:.1%} of its {metric}") if old else ""
    if old and ratio >= rule.stale_champion_min_ratio:
        return Decision(True, f"{age} (at least {rule.stale_champion_min_ratio:.0%}) ({figures})",
                        challenger, champion, champion_age_days)
    why = (f"{metric} does not beat the champion by {rule.min_improvement}" if gain < rule.min_improvement
           else "calibration is worse than the champion's")
    if old:
        why += f"; {age}, less than {rule.stale_champion_min_ratio:.0%}"
    return Decision(False, f"{why} ({figures})", challenger, champion, champion_age_days)

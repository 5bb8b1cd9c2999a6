"""Signals in, one Verdict out.

Precedence (docs/policy.md, "Policy precedence", is the same table, one test per row):
1. block > review > label > allow: the verdict is the strongest decision any rule reached.
2. Specific beats general: an allow-bank match on an item suppresses block-bank matches on the
   same item; a market overlay's thresholds replace the default policy's.
3. A signal that is unavailable reaches at least review: never allow.
4. A signal that is not configured does what the policy says for the flow (the default: generation
   outputs no image model screened go to review; platform checks are decided on the remaining
   signals), and the verdict names it in ``missing_signals``.
5. AI-generated content always carries the ``ai_generated`` label requirement, whatever the decision.
6. Revoked consent and lexicon limits are not suppressible by allow banks.
7. A score blocks only at a ``block_at`` an operator set on purpose: the shipped policy has none,
   so classifier evidence routes to a person (review in a check, held in a generation).

Every score and lexicon hit names the input it read (``prompt``, ``script``, ``caption``,
``transcript``, ``ocr``, ``image``, ``video``) in its reason and in ``scores_by_source``; the
verdict carries the classifier versions the flow recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.policy.categories import RULE_CATEGORY, FlagCategory
from service.policy.load import Policy, SignalPolicy
from service.policy.model import Decision, MatchSignal, RequiredLabel, Signals, SourceScores, Verdict
from service.policy.sor import statement_of_reasons
from service.vocabulary import Reason, SignalState

_DEFAULT_SIGNAL = SignalPolicy(name="unknown", when_unavailable=Decision.REVIEW, when_not_configured={})


@dataclass(frozen=True, slots=True)
class RuleFinding:
    decision: Decision
    reason: Reason
    category: str | None = None


def _states(policy: Policy, signals: Signals) -> tuple[list[RuleFinding], list[str]]:
    findings: list[RuleFinding] = []
    missing: list[str] = []
    for name, state in sorted(signals.states.items()):
        rule = policy.signals.get(name, _DEFAULT_SIGNAL)
        if state is SignalState.UNAVAILABLE:
            findings.append(
                RuleFinding(
                    rule.when_unavailable,
                    Reason(
                        f"signal.{name}.unavailable",
                        name,
                        f"{name} could not run; content is not read as clean",
                    ),
                    FlagCategory.UNSCREENED,
                )
            )
        elif state is SignalState.NOT_CONFIGURED:
            missing.append(name)
            action = rule.when_not_configured.get(signals.flow)
            detail = (
                f"{name} did not run: a document's pictures and words are not screened (provenance only)"
                if "document" in signals.content_kinds
                else f"{name} is not configured on this instance"
            )
            if action is None:
                findings.append(
                    RuleFinding(
                        Decision.ALLOW,
                        Reason(
                            f"signal.{name}.not_configured",
                            name,
                            f"{detail}; decided on the remaining signals",
                        ),
                    )
                )
            else:
                findings.append(
                    RuleFinding(
                        action,
                        Reason(
                            f"signal.{name}.not_configured",
                            name,
                            f"{detail}; {signals.flow.value} outputs need {action.value}",
                        ),
                        FlagCategory.UNSCREENED,
                    )
                )
    return findings, missing


PDQ_MIN_QUALITY = 50


def _symbols(policy: Policy, signals: Signals) -> list[RuleFinding]:
    """A symbol hit reviews by default (``rules.symbol_hit``); the market's ``symbols:`` decides
    per symbol (a symbol banned there blocks, one that is lawful there is let through)."""
    findings = []
    for hit in signals.symbols:
        where = f"at {hit.t:.1f} s, " if hit.t is not None else ""
        x, y, w, h = hit.box
        findings.append(
            RuleFinding(
                policy.symbol_decision(hit.symbol),
                Reason(
                    f"symbol.{hit.symbol}",
                    "symbols",
                    f"{hit.label} ({hit.score:.2f}) {where}box {x},{y} {w}×{h} ({hit.origin})",
                ),
                hit.category,
            )
        )
    return findings


def _low_quality(signals: Signals, missing: list[str]) -> list[RuleFinding]:
    """Frames too flat or small to fingerprint are named; when no frame could be fingerprinted,
    ``hash_banks`` is missing from the verdict (nothing was matched, not "nothing matched")."""
    findings = []
    for low in signals.low_quality:
        where = f"frame {low.item} at {low.t:.1f} s" if low.t is not None else "the picture"
        findings.append(
            RuleFinding(
                Decision.ALLOW,
                Reason(
                    "match.low_quality",
                    "hash_banks",
                    f"{where}: fingerprint quality {low.quality} (under {PDQ_MIN_QUALITY}), too flat "
                    "or too small to match against the hash banks",
                ),
            )
        )
    if signals.low_quality and len(signals.low_quality) >= signals.frames and "hash_banks" not in missing:
        missing.append("hash_banks")
    return findings


def _matches(policy: Policy, matches: tuple[MatchSignal, ...]) -> list[RuleFinding]:
    allowed_items = {m.item for m in matches if m.kind == "allow"}
    findings = []
    for m in matches:
        where = f"item {m.item}, {m.hash_type} distance {m.distance}"
        if m.kind == "allow":
            findings.append(
                RuleFinding(
                    Decision.ALLOW, Reason("match.allow_bank", f"bank:{m.bank}", f"allow-listed ({where})")
                )
            )
        elif m.item in allowed_items:
            findings.append(
                RuleFinding(
                    Decision.ALLOW,
                    Reason(
                        "match.block_bank.suppressed",
                        f"bank:{m.bank}",
                        f"suppressed by an allow-bank match on the same item ({where})",
                    ),
                )
            )
        else:
            findings.append(
                RuleFinding(
                    policy.rules["block_bank"],
                    Reason(
                        "match.block_bank", f"bank:{m.bank}", f"{where}; labels {','.join(m.labels) or '-'}"
                    ),
                    RULE_CATEGORY["block_bank"],
                )
            )
    return findings


def _scores(policy: Policy, signals: Signals) -> tuple[list[RuleFinding], dict[str, float]]:
    findings: list[RuleFinding] = []
    best: dict[str, float] = {}
    for s in signals.scores:
        best[s.category] = max(best.get(s.category, 0.0), round(s.score, 4))
        cat = policy.categories.get(s.category)
        review_at = policy.review_at(s.category, s.source)  # the category's, or its signal's if lower
        if cat is None or review_at is None:
            continue
        where = ", ".join(part for part in (s.origin, s.evidence) if part)  # "caption", "video, frame 3 …"
        evidence = f" ({where})" if where else ""
        if cat.block_at is not None and s.score >= cat.block_at:
            findings.append(
                RuleFinding(
                    Decision.BLOCK,
                    Reason(
                        f"score.{s.category}.block", s.source, f"{s.score:.2f} ≥ {cat.block_at:.2f}{evidence}"
                    ),
                    s.category,
                )
            )
        elif s.score >= review_at:
            findings.append(
                RuleFinding(
                    Decision.REVIEW,
                    Reason(
                        f"score.{s.category}.review",
                        s.source,
                        f"{s.score:.2f} ≥ {review_at:.2f}{evidence}",
                    ),
                    s.category,
                )
            )
    return findings, best


def _by_source(signals: Signals) -> tuple[SourceScores, ...]:
    """Every input's scores under its source name, in the order the flow screened them."""
    grouped: dict[tuple[str, str], dict[str, float]] = {}
    for s in signals.scores:
        scores = grouped.setdefault((s.source, s.origin or s.source), {})
        scores[s.category] = max(scores.get(s.category, 0.0), round(s.score, 4))
    return tuple(SourceScores(signal, source, scores) for (signal, source), scores in grouped.items())


def evaluate(policy: Policy, signals: Signals) -> Verdict:
    findings, missing = _states(policy, signals)
    labels: list[RequiredLabel] = []
    prov = signals.provenance
    if prov is not None:
        if prov.state == "invalid":
            findings.append(
                RuleFinding(
                    policy.rules["provenance_invalid"],
                    Reason(
                        "provenance.invalid",
                        "provenance",
                        "the C2PA manifest does not validate (tampered or bad signature)",
                    ),
                    RULE_CATEGORY["provenance_invalid"],
                )
            )
        if prov.ai_generated:
            how = " (recovered by fingerprint)" if prov.recovered_by else ""
            findings.append(
                RuleFinding(
                    policy.rules["provenance_ai_generated"],
                    Reason(
                        "provenance.ai_generated",
                        "provenance",
                        f"source type {prov.digital_source_type or 'AI'}{how}",
                    ),
                    RULE_CATEGORY["provenance_ai_generated"],
                )
            )
            labels.append(RequiredLabel("ai_generated", "provenance.ai_generated"))
    if signals.consent_status.value == "revoked":
        findings.append(
            RuleFinding(
                policy.rules["consent_revoked"],
                Reason(
                    "consent.revoked",
                    "consent",
                    f"consent for asset {prov.asset_id if prov else '?'} was revoked",
                ),
                RULE_CATEGORY["consent_revoked"],
            )
        )
    findings.extend(_matches(policy, signals.matches))
    findings.extend(_low_quality(signals, missing))
    score_findings, best = _scores(policy, signals)
    findings.extend(score_findings)
    for hit in signals.lexicon:
        action = policy.rules["lexicon_hit"]
        if hit.blocks_alone:
            action = Decision.BLOCK
        where = f" ({hit.origin})" if hit.origin else ""
        findings.append(
            RuleFinding(
                action,
                Reason(f"lexicon.{hit.term}", "lexicon", f"category {hit.category}{where}"),
                hit.category,
            )
        )

    findings.extend(_symbols(policy, signals))

    decision = max((f.decision for f in findings), key=lambda d: d.rank, default=Decision.ALLOW)
    if decision is Decision.ALLOW and labels:
        decision = Decision.LABEL
    # Every category that reached the decision, first the one that drove it (the review queue
    # files a flag under the most severe of them, by the review policy).
    driving = list(dict.fromkeys(f.category for f in findings if f.decision is decision and f.category))
    category = driving[0] if driving else None
    reasons = tuple(f.reason for f in sorted(findings, key=lambda f: -f.decision.rank))
    verdict = Verdict(
        decision=decision,
        reasons=reasons,
        required_labels=tuple(labels),
        scores=best,
        matches=signals.matches,
        consent_status=signals.consent_status,
        provenance=prov,
        missing_signals=tuple(missing),
        policy_version=policy.version,
        statement_of_reasons=None,
        category=category,
        categories=tuple(driving),
        classifier_versions=dict(signals.classifier_versions),
        scores_by_source=_by_source(signals),
    )
    return _with_statement(policy, signals, verdict)


def _with_statement(policy: Policy, signals: Signals, verdict: Verdict) -> Verdict:
    from dataclasses import replace

    return replace(verdict, statement_of_reasons=statement_of_reasons(policy, signals, verdict))

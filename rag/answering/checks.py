"""The named checks an answer must pass before it is shown, in the order they run.

Each returns a `Check` (name, passed, value, threshold, reason); all of them are recorded on
`Answer.checks`, in the JSON and in `rag eval`'s results, and the first that fails is the reason given
for abstaining. The thresholds are fitted on training material by eval/fit_abstention.py, which reads
these records. A check named in `Settings.advisory_checks` is still run and recorded but does not decide.

| check | fails when |
|---|---|
| retrieval | no passage, nor a sentence shown to the model, is close enough to the question |
| question_facts | a name or number the question gives is in none of the passages retrieved |
| answer_check | asked whether the context states the answer, the model does not confirm it |
| answered | the model says the context does not answer |
| supported | no sentence of the draft is supported by the evidence shown (rag/answering/cite.py) |
| informative | what the supported sentences say, the question already said ("Robert led against Dyrrachium") |
| kind | a when / how-many question is answered without a date or a number |

The first three read no draft: they run before the model writes (nothing is written when one fails), so a
sentence shown while the answer is written is never withdrawn by them. The last four read the draft; the
sentences written so far pass them before they are shown (rag.types.Checked), and the whole draft again at
the end.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from rag.answering.cite import is_refusal
from rag.answering.question import STEM, Question
from rag.settings import CheckSettings
from rag.text import content_words, negates, numbers, stated
from rag.types import Check


def retrieval(closeness: float, threshold: float, shown_anything: bool, found_anything: bool) -> Check:
    passed = closeness >= threshold
    reason = (
        ""
        if passed
        else (
            f"no passage is close to the question (best score {closeness:.2f})"
            if shown_anything
            else "every sentence of the passages reads as an instruction, and was withheld"
            if found_anything
            else "no passage was found"
        )
    )
    return Check("retrieval", passed, round(closeness, 4), threshold, reason)


def answered(draft: str) -> Check:
    passed = bool(draft.strip()) and not is_refusal(draft)
    return Check("answered", passed, reason="" if passed else "the model found no answer in the passages")


def supported(best_support: float, any_supported: bool, threshold: float) -> Check:
    """`any_supported`: a sentence reached the threshold and states only numbers and names its evidence does."""
    reason = "" if any_supported else "no sentence of the draft answer is supported by the passages"
    return Check("supported", any_supported, round(best_support, 4), threshold, reason)


def informative(question: Question, answer: str) -> Check:
    """The answer must say something the question did not: a content word of its own (stems compared, and a
    word spelt nearly as one of the question's, "led" for "lead", is the question's; a negation counts: "Beijing
    is not likely to comply" answers "Is Beijing likely to comply?" with that word alone). A sentence made of the
    question's words is supported by any passage the question matches, and answers nothing; to a yes/no
    question, it is the answer "yes" (its verdict dropped)."""
    asked = set(question.stems) | ({"not"} if question.negated else set())
    said = {STEM(w) for w in content_words(answer)} | ({"not"} if negates(answer) else set())
    new = {
        w
        for w in said - asked  # "not" is spelt nearly as "note": a negation is never the question's word
        if w.isdigit() or w == "not" or not any(SequenceMatcher(None, w, a).ratio() >= 0.8 for a in asked)
    }
    if question.yes_no:  # "Is Mirabel the capital?" "Mirabel is the capital.": it is
        new = new or {"yes"}
    if question.options and not new:  # "Is it abstract or concrete?": naming one of them is the answer
        picked = {STEM(w) for w in content_words(answer)} & {STEM(w) for w in question.options}
        new = picked if len(picked) == 1 else new
    passed = bool(new) or not answer.strip()
    return Check("informative", passed, float(len(new)), 1.0, "" if passed else "the answer only repeats the question")


_QUANTITY = re.compile(
    r"^\s*(when\b|(in |from )?(what|which) (year|date|month|day|time)\b|how (many|much|long|old|far|large|big)\b)",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    r"\d|\b(zero|none|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
    r"|(hundred|thousand|million|billion|dozen)s?|once|twice|thrice|several|few|while|january|february|march|april"
    r"|may|june|july|august|september|october|november|december|spring|summer|autumn|fall|winter|century|decade"
    r"|year|month|week|day|today|yesterday|ago|since|until|before|after|during)\b",
    re.IGNORECASE,
)


def kind(question: Question, answer: str) -> Check:
    """A question asking when, or how many/much/long, is answered only by an answer stating a number or date."""
    passed = not question.quantity or bool(_QUANTITY.search(answer))
    return Check("kind", passed, reason="" if passed else "the answer does not state the date or quantity asked for")


def question_facts(question: Question, evidence: list[str]) -> Check:
    """The names and numbers the question gives must be stated by the passages retrieved for it: a question
    about a person, a year or a place they never mention asks about something they do not say, however close
    the rest of it comes (SQuAD 2.0's unanswerable questions are often a true one with a name or date changed).
    value: the share of them stated (1.0 when the question gives none)."""
    text = " ".join(evidence)
    words, stated_numbers = content_words(text), numbers(text, spelled=True)
    stems = {STEM(w) for w in words}  # "Marry" (a capitalised verb) is stated by "married"
    missing = sorted(n for n in question.numbers if n not in stated_numbers)
    missing += sorted(n for n in question.names if not stated(n, words) and STEM(n) not in stems)
    given = len(question.numbers) + len(question.names)
    share = 1.0 - len(missing) / given if given else 1.0
    reason = "" if not missing else f"the passages found never mention {', '.join(missing)}"
    return Check("question_facts", not missing, round(share, 4), 1.0, reason)


def answer_check(p_yes: float, threshold: float) -> Check:
    passed = p_yes >= threshold
    reason = (
        ""
        if passed
        else (f"asked whether the passages state the answer, the model did not confirm it (P(yes) {p_yes:.2f})")
    )
    return Check("answer_check", passed, round(p_yes, 4), threshold, reason)


def answer_check_not_run(threshold: float, why: str) -> Check:
    """The answer check where the model gives no token probabilities: recorded as not run, deciding nothing."""
    return Check("answer_check", True, None, threshold, not_run=why)


def first_failure(checks: list[Check], advisory: frozenset[str] | set[str] = frozenset()) -> Check | None:
    """The check that decides an abstention: the first failed one that is not advisory."""
    return next((c for c in checks if not c.passed and c.name not in advisory), None)


class CheckList:
    """The checks of one answer as they run, and what they decide under the checks' settings."""

    def __init__(self, settings: CheckSettings) -> None:
        self.done: list[Check] = []
        self.advisory = set(settings.advisory_checks)
        self.every_check = settings.every_check

    def copy(self) -> CheckList:
        """Another list with the checks done so far, to go on from separately."""
        other = CheckList.__new__(CheckList)
        other.done, other.advisory, other.every_check = list(self.done), self.advisory, self.every_check
        return other

    def add(self, check: Check) -> Check:
        check.advisory = check.name in self.advisory
        self.done.append(check)
        return check

    @property
    def deciding(self) -> Check | None:
        """The check that makes the answer an abstention, if any."""
        return first_failure(self.done, self.advisory)

    def go_on(self) -> bool:
        """Run the next check? Not after one decided, unless every check is to be recorded."""
        return self.every_check or self.deciding is None

    def value(self, name: str) -> float | None:
        return next((c.value for c in self.done if c.name == name), None)
